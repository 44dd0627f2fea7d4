"""``train_gradient_free``: the recipe that assembles blocks, bit-flip training and readout."""

from __future__ import annotations

from collections.abc import Sequence

import larq as lq
import tensorflow as tf

from bitnets_tf import layers
from bitnets_tf._validation import check_int_at_least
from bitnets_tf.training.gradient_free.blocks import binary_conv_block, code_head_factory
from bitnets_tf.training.gradient_free.readout import Readout, StreamingReadout
from bitnets_tf.training.gradient_free.trainer import BitFlipBlockTrainer
from bitnets_tf.training.layerwise import LayerwiseResult, LayerwiseTrainer

__all__ = ["train_gradient_free"]

_DEFAULT_READOUT = StreamingReadout()


def train_gradient_free(
    dataset: tf.data.Dataset,
    num_classes: int,
    filters: Sequence[int] = (64, 128),
    pool: Sequence[bool] | None = None,
    epochs_per_block: int | Sequence[int] = 1,
    validation_data: tf.data.Dataset | None = None,
    readout: Readout | None = _DEFAULT_READOUT,
    readout_pool: int = 2,
    **trainer_options,
) -> LayerwiseResult:
    """Greedy gradient-free training of a binary ConvNet; returns the assembled Keras model.

    The blocks are ``binary 3×3 conv → [(2×2 max-pool →) binary 3×3 conv] × …``: binary inputs
    (the image is binarized by the first layer's sign) and ±1 weights, each trained bit by bit
    against its code head (:class:`BitFlipBlockTrainer` in a :class:`LayerwiseTrainer`), with
    every block's input streamed through the frozen blocks before it.
    The classifier on top is a linear ``readout`` on the signs of the last block's max-pooled
    (``readout_pool``), flattened output — a ``QuantDense`` named ``"readout"`` with a binary
    input quantizer and real weights, fitted on the streamed features; with ``readout=None``
    it is the last block's code head (every layer binary). The result is an ordinary Keras
    model: it saves, converts and runs like any other.

    Args:
        dataset: batched ``(images, labels)``.
        num_classes: classes (>= 2).
        filters: output channels of each binary convolution.
        pool: whether each block after the first max-pools its input (default: all do).
        epochs_per_block: passes over the data per block.
        validation_data: for ``val_accuracy`` in each block's history.
        readout: how the readout is fitted: :class:`StreamingReadout` (default, memory
            linear in the readout's width), :class:`RidgeReadout` (exact, memory quadratic in
            it), or None for the code head.
        readout_pool: size (and stride) of the max-pool before the readout. The readout reads
            ``C · (H // p) · (W // p)`` signs of the last block's ``H×W×C`` output.
        **trainer_options: for :class:`BitFlipBlockTrainer`.
    """
    readout_pool = check_int_at_least("readout_pool", readout_pool, 1)
    if readout is not None and not callable(getattr(readout, "fit", None)):
        raise ValueError(
            "`readout` must be a StreamingReadout, a RidgeReadout (or any object with "
            f"fit(features, num_classes) -> (kernel, bias)) or None, got {readout!r}."
        )
    pool = [True] * (len(filters) - 1) if pool is None else list(pool)
    if len(pool) != len(filters) - 1:
        raise ValueError(
            f"`pool` has {len(pool)} entries for the {len(filters) - 1} blocks after the first."
        )
    blocks = [
        binary_conv_block(
            check_int_at_least("filters", count, 1),
            pool_input=index > 0 and pool[index - 1],
            name=f"bitflip_block_{index}",
        )
        for index, count in enumerate(filters)
    ]
    trainer = LayerwiseTrainer(
        blocks,
        code_head_factory(num_classes),
        block_trainer=BitFlipBlockTrainer(**trainer_options),
    )
    result = trainer.fit(dataset, epochs_per_block, validation_data=validation_data)
    if readout is None:
        return result
    return LayerwiseResult(
        _with_readout(trainer, dataset, num_classes, readout, readout_pool), result.histories
    )


def _with_readout(
    trainer: LayerwiseTrainer,
    dataset: tf.data.Dataset,
    num_classes: int,
    readout: Readout,
    pool_size: int,
) -> tf.keras.Model:
    pool, flatten = tf.keras.layers.MaxPool2D(pool_size), tf.keras.layers.Flatten()

    def binary_features(x, y, *rest):
        return lq.math.sign(flatten(pool(x))), y

    features = trainer.prefix_features(dataset, len(trainer.blocks)).map(binary_features)
    kernel, bias = readout.fit(features, num_classes)
    inputs = tf.keras.Input(dataset.element_spec[0].shape[1:])
    x = inputs
    for block in trainer.blocks:
        x = block(x)
    dense = layers.QuantDense(num_classes, input_quantizer="ste_sign", name="readout")
    outputs = dense(flatten(pool(x)))
    dense.set_weights([kernel, bias])
    return tf.keras.Model(inputs, outputs, name="gradient_free_convnet")
