"""Greedy layer-wise training: trains, streams features (no cached activations), assembles a
plain savable Keras model, and accepts a pluggable block trainer."""

import numpy as np
import pytest
import tensorflow as tf
from support.training import CLASSES, IMAGE_SHAPE, toy_images

from bitnets_tf import layers
from bitnets_tf.training import BlockStage, GradientBlockTrainer, LayerwiseTrainer, bnn_optimizer


def _blocks() -> list[tf.keras.layers.Layer]:
    binary = {"input_quantizer": "ste_sign", "kernel_quantizer": "ste_sign", "use_bias": False}
    return [
        tf.keras.Sequential(
            [tf.keras.layers.Conv2D(8, 3, padding="same"), tf.keras.layers.BatchNormalization()],
            name="block_0",
        ),
        tf.keras.Sequential(
            [
                layers.QuantConv2D(8, 3, padding="same", kernel_constraint="weight_clip", **binary),
                tf.keras.layers.BatchNormalization(),
            ],
            name="block_1",
        ),
    ]


def _head(index: int, feature_shape: tf.TensorShape) -> tf.keras.layers.Layer:
    return tf.keras.Sequential(
        [tf.keras.layers.GlobalAveragePooling2D(), tf.keras.layers.Dense(CLASSES)],
        name=f"head_{index}",
    )


class _CountingSource:
    """A generator dataset that counts the examples it yields (to see every pass)."""

    def __init__(self, n: int):
        self.x, self.y = toy_images(n)
        self.yielded = 0

    def __call__(self):
        for x, y in zip(self.x, self.y, strict=True):
            self.yielded += 1
            yield x, y

    def dataset(self, batch_size: int = 32) -> tf.data.Dataset:
        signature = (
            tf.TensorSpec(IMAGE_SHAPE, tf.float32),
            tf.TensorSpec((), tf.int32),
        )
        return tf.data.Dataset.from_generator(self, output_signature=signature).batch(batch_size)


def test_layerwise_training_trains_each_block_and_assembles_a_plain_model(tmp_path):
    source = _CountingSource(256)
    trainer = LayerwiseTrainer(
        _blocks(), _head, GradientBlockTrainer(lambda: bnn_optimizer("adam", 1e-2))
    )
    result = trainer.fit(source.dataset(), epochs_per_block=3)
    # Every block saw every example in every epoch: features were recomputed, not cached.
    assert source.yielded == 2 * 3 * 256
    for history in result.histories:
        assert history["loss"][-1] < history["loss"][0]
    model = result.model
    assert isinstance(model, tf.keras.Model) and model._is_graph_network  # plain functional
    assert [layer.name for layer in model.layers[1:]] == ["block_0", "block_1", "head_1"]
    x, y = toy_images(128, seed=1)
    accuracy = np.mean(np.argmax(model.predict(x, verbose=0), -1) == y)
    assert accuracy > 0.8
    model.save(tmp_path / "layerwise.keras")
    loaded = tf.keras.models.load_model(tmp_path / "layerwise.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_prefix_features_stream_through_the_frozen_prefix():
    source = _CountingSource(64)
    blocks = _blocks()
    trainer = LayerwiseTrainer(blocks, _head)
    tf.keras.Sequential([tf.keras.Input(IMAGE_SHAPE), *blocks])  # build the blocks
    dataset = source.dataset()
    assert trainer.prefix_features(dataset, 0) is dataset
    features = trainer.prefix_features(dataset, 2)
    assert features.element_spec[0].shape.as_list() == [None, 8, 8, 8]
    first = np.concatenate([x for x, _ in features.as_numpy_iterator()])
    second = np.concatenate([x for x, _ in features.as_numpy_iterator()])
    assert source.yielded == 2 * 64  # each pass re-reads the source batch by batch
    expected = blocks[1](blocks[0](source.x, training=False), training=False).numpy()
    np.testing.assert_allclose(first, expected, atol=1e-5)
    np.testing.assert_array_equal(first, second)


def test_block_trainer_is_pluggable():
    stages: list[BlockStage] = []

    def record(stage: BlockStage, epochs: int) -> dict:
        stages.append(stage)
        return {"epochs": [epochs]}

    blocks = _blocks()
    validation = _CountingSource(32).dataset()
    result = LayerwiseTrainer(blocks, _head, block_trainer=record).fit(
        _CountingSource(32).dataset(), epochs_per_block=[2, 5], validation_data=validation
    )
    assert [stage.index for stage in stages] == [0, 1]
    assert [stage.block for stage in stages] == blocks
    assert stages[1].features.element_spec[0].shape.as_list() == [None, 8, 8, 8]
    assert stages[1].validation_features.element_spec[0].shape.as_list() == [None, 8, 8, 8]
    assert stages[1].model.input_shape == (None, 8, 8, 8)
    assert result.histories == [{"epochs": [2]}, {"epochs": [5]}]
    assert result.model.layers[-1] is stages[1].head


def test_layerwise_checks_arguments():
    with pytest.raises(ValueError, match="at least one block"):
        LayerwiseTrainer([], _head)
    trainer = LayerwiseTrainer(_blocks(), _head)
    with pytest.raises(ValueError, match="3 entries for 2 blocks"):
        trainer.fit(_CountingSource(32).dataset(), epochs_per_block=[1, 1, 1])
    with pytest.raises(ValueError, match="epochs_per_block"):
        trainer.fit(_CountingSource(32).dataset(), epochs_per_block=0)
    with pytest.raises(ValueError, match=r"batched tf\.data\.Dataset"):
        trainer.fit(toy_images(32), epochs_per_block=1)
