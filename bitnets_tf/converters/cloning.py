"""Copies of Keras models with some layers swapped or a fixed input shape, weights included."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

LayerReplacement = Callable[[tf.keras.layers.Layer], tf.keras.layers.Layer | None]


def clone_model(
    model: tf.keras.Model,
    replace: LayerReplacement | None = None,
    input_shape: tuple[int, ...] | None = None,
) -> tf.keras.Model:
    """A copy of ``model`` with its weights; ``replace(layer)`` may return a new, unbuilt layer
    to use instead (None keeps a copy of the layer) with the same weights layout or a
    ``copy_weights_from(original)`` method, and
    ``input_shape`` (without the batch axis) fixes the input shape of a single-input model.

    Raises:
        ValueError: a layer cannot be re-created from its config (a custom layer without
            ``get_config``), or ``input_shape`` does not fit the model.
    """

    def clone_layer(layer):
        replacement = replace(layer) if replace is not None else None
        if replacement is not None:
            return replacement
        try:
            return layer.__class__.from_config(layer.get_config())
        except (NotImplementedError, TypeError, ValueError) as error:
            raise ValueError(
                f"Layer {layer.name!r} ({type(layer).__name__}) cannot be re-created from its "
                f"config ({error}); give the class a complete get_config()."
            ) from None

    input_tensors = None
    if input_shape is not None:
        if len(model.inputs) != 1:
            raise ValueError("input_shape= works for single-input models only.")
        input_tensors = tf.keras.Input(tuple(input_shape), name=model.inputs[0].name.split(":")[0])
    try:
        clone = tf.keras.models.clone_model(
            model, input_tensors=input_tensors, clone_function=clone_layer
        )
    except (TypeError, ValueError) as error:
        if "cannot be re-created" in str(error):
            raise
        raise ValueError(
            f"Could not rebuild the model with input shape {input_shape}: {error}"
        ) from None
    originals = {layer.name: layer for layer in model.layers}
    for layer in clone.layers:
        if isinstance(layer, tf.keras.layers.InputLayer) or layer.name not in originals:
            continue
        _copy_weights(originals[layer.name], layer)
    return clone


def _short_name(variable) -> str:
    return variable.name.split("/")[-1].split(":")[0]


def _copy_weights(original, layer) -> None:
    """Positionally, or by variable name when a replacement dropped weights (e.g. a quantizer's
    own scales), or with the replacement's ``copy_weights_from``."""
    if hasattr(layer, "copy_weights_from"):  # a replacement with another weight layout
        layer.copy_weights_from(original)
        return
    if [w.shape for w in layer.weights] == [w.shape for w in original.weights]:
        layer.set_weights(original.get_weights())
        return
    by_name = {_short_name(w): w for w in original.weights}
    for variable in layer.weights:
        variable.assign(by_name[_short_name(variable)])
