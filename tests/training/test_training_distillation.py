"""Knowledge distillation: the loss formula, training through model.fit, saving the student."""

import numpy as np
import pytest
import tensorflow as tf
from support.training import (
    binary_net,
    compile_classifier,
    float_net,
    toy_dataset,
    toy_images,
)

from bitnets_tf.training import DistillationLoss, Distiller, bnn_optimizer, reactnet_distiller


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("temperature", [1.0, 4.0])
def test_distillation_loss_is_scaled_kl_divergence(temperature):
    rng = np.random.default_rng(0)
    teacher, student = rng.normal(size=(2, 5, 3)).astype("float32")
    p, q = _softmax(teacher / temperature), _softmax(student / temperature)
    expected = temperature**2 * (p * np.log(p / q)).sum(-1)
    loss = DistillationLoss(temperature, reduction="none")
    np.testing.assert_allclose(loss(teacher, student).numpy(), expected, rtol=1e-4, atol=1e-5)
    assert DistillationLoss(temperature)(teacher, student).numpy() == pytest.approx(
        expected.mean(), rel=1e-5
    )
    probabilities = DistillationLoss(temperature, from_logits=False, reduction="none")
    np.testing.assert_allclose(
        probabilities(_softmax(teacher), _softmax(student)).numpy(), expected, rtol=1e-4
    )
    assert DistillationLoss(temperature)(teacher, teacher).numpy() == pytest.approx(0, abs=1e-6)
    with pytest.raises(ValueError, match="temperature"):
        DistillationLoss(0.0)


def _trained_teacher() -> tf.keras.Model:
    teacher = compile_classifier(float_net(), bnn_optimizer("adam", 1e-2))
    teacher.fit(toy_dataset(), epochs=5, verbose=0)
    return teacher


def test_distiller_trains_the_student_toward_the_teacher(tmp_path):
    teacher = _trained_teacher()
    teacher_weights = teacher.get_weights()
    distiller = reactnet_distiller(binary_net(name="student"), teacher)
    distiller.compile(bnn_optimizer("adam", 1e-2), metrics=["accuracy"])
    data = toy_dataset()
    history = distiller.fit(data, validation_data=data, epochs=4, verbose=0).history
    assert history["distillation_loss"][-1] < 0.7 * history["distillation_loss"][0]
    assert history["loss"] == pytest.approx(history["distillation_loss"])  # label_weight 0
    assert {"val_loss", "val_accuracy", "val_distillation_loss"} <= set(history)
    for before, after in zip(teacher_weights, teacher.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)  # the teacher is never updated


def test_distiller_saves_only_the_student(tmp_path):
    teacher = float_net()
    student = binary_net(name="student")
    distiller = Distiller(student, teacher, temperature=2.0, label_weight=0.5)
    distiller.compile(bnn_optimizer("adam", 1e-2))
    distiller.fit(toy_dataset(64), epochs=1, verbose=0)
    distiller.save(tmp_path / "student.keras")
    loaded = tf.keras.models.load_model(tmp_path / "student.keras")  # no custom_objects
    assert loaded.name == "student"
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in student.layers]
    assert loaded.count_params() == student.count_params()
    x = toy_images(8)[0]
    expected = student.predict(x, verbose=0)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, atol=1e-5)


def test_distiller_mixes_label_loss_and_checks_arguments():
    teacher = _trained_teacher()
    x, y = toy_images(64)
    distiller = Distiller(binary_net(), teacher, temperature=2.0, label_weight=0.25)
    distiller.compile(tf.keras.optimizers.SGD(0.0))  # no update: loss of the initial student
    history = distiller.fit(x, y, batch_size=64, epochs=1, verbose=0).history
    logits, teacher_logits = distiller.student(x, training=True), teacher(x)
    label = tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
    kd = DistillationLoss(2.0, reduction="none")(teacher_logits, logits)
    expected = float(tf.reduce_mean(0.25 * label + 0.75 * kd))
    assert history["loss"][0] == pytest.approx(expected, rel=1e-4)
    with pytest.raises(ValueError, match="label_weight"):
        Distiller(binary_net(), teacher, label_weight=1.5)
    config = Distiller.from_config(distiller.get_config()).get_config()
    assert config["temperature"] == 2.0 and config["label_weight"] == 0.25
