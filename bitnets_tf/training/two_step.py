r"""ReActNet's two-step training (Liu et al. 2020, Sec. 4.1; Martinez et al. 2020, Sec. 4.2).

Step 1 trains a network with binary activations and real-valued weights; step 2 builds the
same network with binary weights too, initialises every layer from step 1's trained weights
and trains again with a fresh optimizer:

.. math:: \theta_2^{(0)} = \theta_1^{*}, \qquad
          \theta_1^{*} = \arg\min_\theta L\big(f_\theta(x;\ \text{real-valued weights})\big)

The model builder is called twice, once per step, with that step's keyword arguments (by
default ``kernel_quantizer=None`` and ``kernel_quantizer="magnitude_aware_sign"``, Bi-Real's and
ReActNet's scaled sign). :func:`transfer_weights` copies the weights layer by layer: by layer
name when every weighted layer's name matches, else by the order of the weighted layers.

Papers: "ReActNet: Towards Precise Binary Neural Network with Generalized Activation
Functions", https://arxiv.org/abs/2003.03488; "Training Binary Neural Networks with
Real-to-Binary Convolutions", https://arxiv.org/abs/2003.11535
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import tensorflow as tf

from bitnets_tf._validation import check_choice, check_int_at_least
from bitnets_tf.introspect import leaf_layers
from bitnets_tf.training._distribute import strategy_scope
from bitnets_tf.training.optimizers import bnn_optimizer

__all__ = ["TwoStepResult", "TwoStepTrainer", "transfer_weights"]

STEP1_KWARGS = {"kernel_quantizer": None}
STEP2_KWARGS = {"kernel_quantizer": "magnitude_aware_sign"}


def _weighted_layers(model: tf.keras.Model) -> list[tf.keras.layers.Layer]:
    return [layer for layer in leaf_layers(model) if layer.weights]


def _shapes(layer: tf.keras.layers.Layer) -> list[tuple]:
    return [tuple(weight.shape) for weight in layer.weights]


def _pairs_by_name(source, target) -> list[tuple] | None:
    by_name = {layer.name: layer for layer in _weighted_layers(source)}
    targets = _weighted_layers(target)
    if not all(layer.name in by_name for layer in targets):
        return None
    return [(by_name[layer.name], layer) for layer in targets]


def _pairs_by_order(source, target) -> list[tuple]:
    sources, targets = _weighted_layers(source), _weighted_layers(target)
    if len(sources) != len(targets):
        raise ValueError(
            f"Cannot transfer weights by layer order: {source.name!r} has {len(sources)} "
            f"layers with weights, {target.name!r} has {len(targets)}. Build both steps with "
            "the same architecture (only quantizers may differ) or give the layers names."
        )
    return list(zip(sources, targets, strict=True))


def transfer_weights(
    source: tf.keras.Model, target: tf.keras.Model, match: str = "auto"
) -> list[tuple[str, str]]:
    """Copy every weighted layer's weights from ``source`` to ``target``.

    Args:
        match: ``"name"`` (layer names must match), ``"order"`` (the i-th weighted layer of
            each model) or ``"auto"`` (by name if every target layer's name exists in source,
            else by order).

    Returns:
        The ``(source layer, target layer)`` name pairs that were copied, in order.

    Raises:
        ValueError: a missing layer name, different numbers of weighted layers, or a layer
            whose weight shapes differ (names both layers and both shape lists).
    """
    check_choice("match", match, ("auto", "name", "order"))
    pairs = None if match == "order" else _pairs_by_name(source, target)
    if pairs is None and match == "name":
        missing = sorted(
            {layer.name for layer in _weighted_layers(target)}
            - {layer.name for layer in _weighted_layers(source)}
        )
        raise ValueError(f"Layers of {target.name!r} missing from {source.name!r}: {missing}.")
    if pairs is None:
        pairs = _pairs_by_order(source, target)
    for source_layer, target_layer in pairs:
        if _shapes(source_layer) != _shapes(target_layer):
            raise ValueError(
                f"Cannot copy weights of layer {source_layer.name!r} {_shapes(source_layer)} "
                f"into {target_layer.name!r} {_shapes(target_layer)}: the shapes differ."
            )
    for source_layer, target_layer in pairs:
        target_layer.set_weights(source_layer.get_weights())
    return [(source_layer.name, target_layer.name) for source_layer, target_layer in pairs]


def compile_for_classification(model: tf.keras.Model, step: int) -> tf.keras.Model:
    """Default per-step compile: Adam(1e-3), sparse cross-entropy on logits, accuracy."""
    model.compile(
        bnn_optimizer("adam", 1e-3),
        tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


@dataclass
class TwoStepResult:
    """The trained step-1 and step-2 models and each step's ``History.history``."""

    step1_model: tf.keras.Model
    model: tf.keras.Model
    histories: tuple[dict, dict]


class TwoStepTrainer:
    """Two-step training: ``build_model(**step1_kwargs)``, fit, ``build_model(**step2_kwargs)``,
    copy the weights over, fit again.

    Args:
        build_model: returns a fresh model for the given keyword arguments (e.g.
            ``functools.partial(zoo.create_model, "reactnet_a", num_classes=10)``).
        compile_model: ``compile_model(model, step) -> trainable`` compiles the step's model and
            returns what to ``fit``: the model itself or a wrapper around it such as
            :class:`~bitnets_tf.training.distillation.Distiller` (ReActNet distils in both
            steps). Defaults to :func:`compile_for_classification`.
        step1_kwargs: the builder arguments of step 1.
        step2_kwargs: the builder arguments of step 2.
        strategy: a ``tf.distribute.Strategy``; models are built and compiled in its scope.
        match: how weights are matched between the steps (see :func:`transfer_weights`).
    """

    def __init__(
        self,
        build_model: Callable[..., tf.keras.Model],
        compile_model: Callable[[tf.keras.Model, int], tf.keras.Model] | None = None,
        step1_kwargs: dict | None = None,
        step2_kwargs: dict | None = None,
        strategy: tf.distribute.Strategy | None = None,
        match: str = "auto",
    ):
        self.build_model = build_model
        self.compile_model = compile_model or compile_for_classification
        self.step_kwargs = (
            STEP1_KWARGS if step1_kwargs is None else step1_kwargs,
            STEP2_KWARGS if step2_kwargs is None else step2_kwargs,
        )
        self.strategy = strategy
        self.match = check_choice("match", match, ("auto", "name", "order"))

    def _build(self, step: int, initial_weights_from: tf.keras.Model | None):
        with strategy_scope(self.strategy):
            model = self.build_model(**self.step_kwargs[step - 1])
            if initial_weights_from is not None:
                transfer_weights(initial_weights_from, model, match=self.match)
            return model, self.compile_model(model, step)

    def fit(self, x, epochs: int | Sequence[int], **fit_kwargs) -> TwoStepResult:
        """Run both steps; ``epochs`` is one count for both or ``(step1, step2)``.

        ``x`` and ``fit_kwargs`` (validation_data, callbacks, ...) go to both ``fit`` calls.
        """
        step_epochs = (epochs, epochs) if isinstance(epochs, int) else tuple(epochs)
        if len(step_epochs) != 2:
            raise ValueError(f"`epochs` must be an int or (step1, step2), got {epochs!r}.")
        for step, count in enumerate(step_epochs, start=1):
            check_int_at_least(f"epochs of step {step}", count, 1)
        step1_model, trainable = self._build(1, None)
        first = trainable.fit(x, epochs=step_epochs[0], **fit_kwargs)
        model, trainable = self._build(2, step1_model)
        second = trainable.fit(x, epochs=step_epochs[1], **fit_kwargs)
        return TwoStepResult(step1_model, model, (first.history, second.history))
