"""End-to-end agreement of a converted model with Keras: rates against stated tolerances.

Binary networks legitimately differ after one sign flip: a pre-activation within float32
rounding (|x| ≈ 1e-6) of a threshold can land on either side in a different summation order,
and the flip propagates. End to end, a conversion is therefore measured on *rates*, not on
``allclose`` (the ``lce`` and ``float`` targets are judged layer by layer, see
:mod:`layerwise`; these rates are reported beside that, and judge the ``int8`` target):

- a sample agrees when ``max |y_tflite - y_keras| ≤ relative_error · max |y_keras|`` (the
  maximum over all samples, so near-zero outputs do not inflate the error);
- the sample agreement and, for class scores (rank-2 outputs with ≥ 2 columns), the argmax
  agreement must reach the tolerance's minimums. The converted argmax agrees when Keras scores
  that class within ``1e-5 · max |y_keras|`` of its maximum, so exact ties in Keras (common:
  binary logits are integers) do not count as disagreement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

_TIE = 1e-5


@dataclass(frozen=True)
class Tolerance:
    """What "agrees with Keras" means for one target."""

    relative_error: float
    min_sample_agreement: float
    min_argmax_agreement: float

    def describe(self) -> str:
        return (
            f"a sample agrees if max|Δ| ≤ {self.relative_error:g}·max|y_keras|; required: "
            f"≥ {self.min_sample_agreement:.0%} of samples, "
            f"≥ {self.min_argmax_agreement:.0%} argmax agreement"
        )


# float and lce compute the same float32 function up to summation order; a few sign flips
# in a deep network (measured: Bi-Real-18, float target, 3 of 32 samples) move the outputs by
# about 1 % of their range, while converter bugs (LCE's ternary miscompile: 20-80 %) move
# most samples far more (these two are judged layer by layer; the rates apply when a
# tolerance is passed). int8 computes binary layers exactly and keeps the stem and head in
# float32: only int8-quantized float layers in between, or approximated signs
# (exact_int8=False), move its logits.
DEFAULT_TOLERANCES = {
    "float": Tolerance(0.02, 0.9, 0.95),
    "lce": Tolerance(0.02, 0.9, 0.95),
    "int8": Tolerance(0.02, 0.95, 0.95),
}


@dataclass(frozen=True)
class Agreement:
    """Measured agreement between Keras and a converted model."""

    samples: int
    max_abs_error: float
    output_scale: float  # max |y_keras|
    sample_agreement: float
    argmax_agreement: float | None

    def passes(self, tolerance: Tolerance) -> bool:
        argmax_ok = (
            self.argmax_agreement is None or self.argmax_agreement >= tolerance.min_argmax_agreement
        )
        return self.sample_agreement >= tolerance.min_sample_agreement and argmax_ok

    def describe(self) -> str:
        text = (
            f"max|Δ| {self.max_abs_error:.3g} (max|y| {self.output_scale:.3g}), "
            f"{self.sample_agreement:.1%} of {self.samples} samples agree"
        )
        if self.argmax_agreement is not None:
            text += f", argmax agreement {self.argmax_agreement:.1%}"
        return text


def measure(
    expected: list[np.ndarray], actual: list[np.ndarray], tolerance: Tolerance
) -> Agreement:
    """Agreement over all outputs (the worst output counts)."""
    if len(expected) != len(actual):
        raise ValueError(f"Keras has {len(expected)} outputs, the converted model {len(actual)}.")
    samples = len(expected[0])
    sample_ok = np.ones(samples, bool)
    argmax_rates, max_error, scale = [], 0.0, 0.0
    for want, got in zip(expected, actual, strict=True):
        want = np.asarray(want, np.float64).reshape(samples, -1)
        got = np.asarray(got, np.float64).reshape(samples, -1)
        if want.shape != got.shape:
            raise ValueError(f"Output shapes differ: Keras {want.shape}, converted {got.shape}.")
        error = np.abs(want - got).max(axis=1)
        output_scale = float(np.abs(want).max()) or 1.0
        sample_ok &= error <= tolerance.relative_error * output_scale
        max_error, scale = max(max_error, float(error.max())), max(scale, output_scale)
        if want.shape[1] >= 2:
            chosen = want[np.arange(samples), got.argmax(1)]
            argmax_rates.append(float(np.mean(chosen >= want.max(1) - _TIE * output_scale)))
    return Agreement(
        samples=samples,
        max_abs_error=max_error,
        output_scale=scale,
        sample_agreement=float(sample_ok.mean()),
        argmax_agreement=min(argmax_rates) if argmax_rates else None,
    )


def keras_outputs(model: tf.keras.Model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    outputs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0, batch_size=32)
    return list(outputs) if isinstance(outputs, list) else [outputs]
