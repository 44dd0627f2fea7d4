"""Rebuilding a Keras model from its config with some layer arguments changed."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf


def clone_with_layer_changes(
    model: tf.keras.Model,
    changes: Callable[[tf.keras.layers.Layer], dict],
    copy_weights: bool = True,
) -> tf.keras.Model:
    """A new model whose every leaf layer is rebuilt from ``{**layer.get_config(), **changes}``.

    Nested Sequential/functional models are rebuilt recursively. With ``copy_weights`` the new
    model gets the old model's weights (the changes must then keep every layer's weights).

    Raises:
        ValueError: for subclassed models, which have no config to rebuild from.
    """

    def clone_layer(layer: tf.keras.layers.Layer) -> tf.keras.layers.Layer:
        if isinstance(layer, tf.keras.Model):
            return _clone_model(layer)
        return layer.__class__.from_config({**layer.get_config(), **changes(layer)})

    def _clone_model(source: tf.keras.Model) -> tf.keras.Model:
        if not (isinstance(source, tf.keras.Sequential) or source._is_graph_network):
            raise ValueError(
                f"Model {source.name!r} is a subclassed model; only Sequential and functional "
                "models can be rebuilt with changed layer arguments. Pass the arguments to the "
                "model's builder instead."
            )
        return tf.keras.models.clone_model(source, clone_function=clone_layer)

    clone = _clone_model(model)
    if copy_weights:
        clone.set_weights(model.get_weights())
    return clone
