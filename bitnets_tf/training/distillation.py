r"""Knowledge distillation from a real-valued teacher into a binary student.

Hinton et al. (2015) train the student on the teacher's softened class probabilities,

.. math:: p^T_c = \mathrm{softmax}(z^T / \tau)_c, \qquad p^S_c = \mathrm{softmax}(z^S / \tau)_c,

.. math:: L = \alpha \, \mathrm{CE}(y, z^S) + (1 - \alpha)\, \tau^2 \,
          \mathrm{KL}(p^T \,\Vert\, p^S), \qquad
          \mathrm{KL}(p^T \Vert p^S) = \sum_c p^T_c \log \frac{p^T_c}{p^S_c}

(τ² keeps the gradient scale independent of τ). ReActNet's *distributional loss*
(Liu et al. 2020, eq. 6) is the special case τ = 1, α = 0:
``L_distr = -(1/n) Σ_i Σ_c p^T_c(X_i) log(p^S_c(X_i) / p^T_c(X_i))``, the KL divergence between
the teacher's and the student's softmax outputs, with no label term. It equals the
cross-entropy to the teacher's distribution up to the teacher's entropy, a constant.

Papers: "Distilling the Knowledge in a Neural Network", https://arxiv.org/abs/1503.02531;
"ReActNet: Towards Precise Binary Neural Network with Generalized Activation Functions",
https://arxiv.org/abs/2003.03488
"""

from __future__ import annotations

import tensorflow as tf

from bitnets_tf._validation import check_non_negative, check_positive
from bitnets_tf.serialization import register

__all__ = ["DistillationLoss", "Distiller", "reactnet_distiller"]


def _log_probabilities(outputs: tf.Tensor, temperature: float, from_logits: bool) -> tf.Tensor:
    """``log softmax(z / τ)``; probabilities are turned into logits first (z = log p)."""
    logits = outputs if from_logits else tf.math.log(tf.clip_by_value(outputs, 1e-7, 1.0))
    return tf.nn.log_softmax(logits / temperature, axis=-1)


@register()
class DistillationLoss(tf.keras.losses.Loss):
    r"""``τ² · KL(softmax(z^T/τ) ‖ softmax(z^S/τ))`` per example: ``loss(teacher, student)``.

    With ``temperature=1`` this is ReActNet's distributional loss. ``from_logits=False`` takes
    probabilities (softmax outputs) from both models.
    """

    def __init__(self, temperature: float = 1.0, from_logits: bool = True, **kwargs):
        kwargs.setdefault("name", "distillation_loss")
        super().__init__(**kwargs)
        self.temperature = check_positive("temperature", temperature)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        teacher = _log_probabilities(tf.stop_gradient(y_true), self.temperature, self.from_logits)
        student = _log_probabilities(y_pred, self.temperature, self.from_logits)
        divergence = tf.reduce_sum(tf.exp(teacher) * (teacher - student), axis=-1)
        return self.temperature**2 * divergence

    def get_config(self):
        return {
            **super().get_config(),
            "temperature": self.temperature,
            "from_logits": self.from_logits,
        }


@register()
class Distiller(tf.keras.Model):
    """A ``model.fit``-able wrapper that trains ``student`` to match a frozen ``teacher``.

    The loss is the module formula: ``label_weight · CE(y, student) + (1 − label_weight) ·
    τ² KL(teacher ‖ student)``, averaged over the global batch (also under ``tf.distribute``),
    plus the student's regularization losses. Only the student's variables are trained.
    Evaluation (``validation_data``) reports the student's label loss and metrics.

    ``distiller.save(path)`` saves the student alone, which loads without ``custom_objects``;
    ``distiller.student`` is the trained model.

    Args:
        student: the model to train.
        teacher: a trained model with the same output shape; never updated.
        temperature: τ > 0.
        label_weight: α in [0, 1]; 0 is pure distillation (ReActNet).
        from_logits: whether both models output logits (True) or probabilities.
    """

    def __init__(
        self,
        student: tf.keras.Model,
        teacher: tf.keras.Model,
        temperature: float = 1.0,
        label_weight: float = 0.0,
        from_logits: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.label_weight = check_non_negative("label_weight", label_weight)
        if self.label_weight > 1:
            raise ValueError(f"`label_weight` must be in [0, 1], got {label_weight!r}.")
        self.student = student
        self.teacher = teacher
        self.teacher.trainable = False
        self.distillation_loss = DistillationLoss(
            temperature, from_logits=from_logits, reduction=tf.keras.losses.Reduction.NONE
        )
        self.label_loss = tf.keras.losses.SparseCategoricalCrossentropy(
            from_logits=from_logits, reduction=tf.keras.losses.Reduction.NONE
        )
        self._loss_tracker = tf.keras.metrics.Mean(name="loss")
        self._distillation_tracker = tf.keras.metrics.Mean(name="distillation_loss")

    @property
    def metrics(self):
        return [self._loss_tracker, self._distillation_tracker, *super().metrics]

    def call(self, inputs, training=None):
        return self.student(inputs, training=training)

    def _results(self) -> dict:
        return {metric.name: metric.result() for metric in self.metrics}

    def train_step(self, data):
        x, y, sample_weight = tf.keras.utils.unpack_x_y_sample_weight(data)
        teacher_outputs = self.teacher(x, training=False)
        with tf.GradientTape() as tape:
            student_outputs = self.student(x, training=True)
            distillation = self.distillation_loss(teacher_outputs, student_outputs)
            per_example = (1.0 - self.label_weight) * distillation
            if self.label_weight > 0:
                per_example += self.label_weight * self.label_loss(y, student_outputs)
            loss = tf.nn.compute_average_loss(per_example, sample_weight=sample_weight)
            if self.student.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(self.student.losses))
        self.optimizer.minimize(loss, self.student.trainable_variables, tape=tape)
        self._loss_tracker.update_state(per_example, sample_weight=sample_weight)
        self._distillation_tracker.update_state(distillation, sample_weight=sample_weight)
        self.compiled_metrics.update_state(y, student_outputs, sample_weight)
        return self._results()

    def test_step(self, data):
        x, y, sample_weight = tf.keras.utils.unpack_x_y_sample_weight(data)
        student_outputs = self.student(x, training=False)
        self._loss_tracker.update_state(
            self.label_loss(y, student_outputs), sample_weight=sample_weight
        )
        self._distillation_tracker.update_state(
            self.distillation_loss(self.teacher(x, training=False), student_outputs),
            sample_weight=sample_weight,
        )
        self.compiled_metrics.update_state(y, student_outputs, sample_weight)
        return self._results()

    def save(self, filepath, *args, **kwargs):
        """Save the student alone (``student.save``); it loads without the teacher."""
        return self.student.save(filepath, *args, **kwargs)

    def get_config(self):
        return {
            "student": tf.keras.layers.serialize(self.student),
            "teacher": tf.keras.layers.serialize(self.teacher),
            "temperature": self.distillation_loss.temperature,
            "label_weight": self.label_weight,
            "from_logits": self.distillation_loss.from_logits,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        models = {
            key: tf.keras.layers.deserialize(config[key], custom_objects=custom_objects)
            for key in ("student", "teacher")
        }
        return cls(**{**config, **models})


def reactnet_distiller(student: tf.keras.Model, teacher: tf.keras.Model) -> Distiller:
    """ReActNet's distributional loss: a :class:`Distiller` with τ = 1 and no label term."""
    return Distiller(student, teacher, temperature=1.0, label_weight=0.0)
