"""One ``.tflite`` model in the interpreter that can run it, one sample at a time.

The interpreter comes from :mod:`bitnets_tf.tflite.interpreters`: bitnets-tf's kernels (in
``tf.lite``'s interpreter; without TensorFlow, in ai-edge-litert's with the kernels as a delegate)
or larq-compute-engine for ``lce`` models, the stock runtime (LiteRT, tflite-runtime or
``tf.lite``, with its default XNNPACK delegate as on a phone) for ``int8`` and ``float`` models.
int8 inputs and outputs are (de)quantized here (:func:`bitnets_tf.deploy.edge.quantize`,
:func:`~bitnets_tf.deploy.edge.dequantize`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from bitnets_tf._validation import check_finite
from bitnets_tf.deploy.edge import dequantize, quantize
from bitnets_tf.tflite.errors import DeploymentError
from bitnets_tf.tflite.flatbuffer import load_flatbuffer
from bitnets_tf.tflite.interpreters import (
    RUNTIMES,
    choose_runtime,
    open_interpreter,
)

__all__ = ["RUNTIMES", "ModelRunner", "TensorSpec"]


@dataclass(frozen=True)
class TensorSpec:
    """Shape (without the batch axis), dtype and int8 quantization of a model input/output."""

    shape: tuple[int, ...]
    dtype: np.dtype
    scale: float
    zero_point: int

    def quantize(self, value: np.ndarray) -> np.ndarray:
        return quantize(value, self.dtype, self.scale, self.zero_point)

    def dequantize(self, value: np.ndarray) -> np.ndarray:
        return dequantize(value, self.dtype, self.scale, self.zero_point)


class ModelRunner:
    """A loaded model with one input and one output, invoked on one sample at a time.

    Args:
        model: the ``.tflite`` bytes or path.
        runtime: ``"auto"`` (the stock runtime, with bitnets-tf's kernels for ``Lce*``
            operators when built, else LCE's interpreter for them), ``"lce"`` or ``"tflite"``
            (the stock runtime: LiteRT, tflite-runtime or ``tf.lite``, the first installed).
        num_threads: interpreter threads.

    Attributes:
        runtime: ``"lce"`` or ``"tflite"``, the runtime chosen.
        input, output: :class:`TensorSpec` of the input and output (shape without the batch
            axis, dtype, int8 scale and zero point).
        flatbuffer: the model's bytes.

    Inputs and outputs are float32 whatever the model's tensor types: int8 models get their
    input quantized and their output dequantized here. Example::

        import numpy as np
        from bitnets_tf.deploy import ModelRunner

        runner = ModelRunner("fashion_mnist_int8.tflite")    # int8: LiteRT (stock runtime)
        print(runner.runtime, runner.input.shape)            # tflite (28, 28, 1)
        image = np.zeros(runner.input.shape, np.float32)     # one preprocessed sample
        logits, seconds = runner.run(image)                  # float32 (10,), invoke time
        batch_logits = runner.predict(np.stack([image, image]))  # (2, 10)

    Raises:
        ValueError: ``num_threads`` below 1, an unknown ``runtime``, or not a TFLite file.
        FileNotFoundError: no such file.
        LceRuntimeRequiredError: an ``lce`` model and larq-compute-engine is not installed (or
            ``runtime="tflite"`` was asked for).
        DeploymentError: the interpreter cannot load the model, or it has more than one input
            or output.
    """

    def __init__(
        self, model: bytes | str | os.PathLike, runtime: str = "auto", num_threads: int = 1
    ):
        if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
            raise ValueError(f"num_threads must be an integer >= 1, got {num_threads!r}.")
        self.flatbuffer = load_flatbuffer(model)
        self.runtime = choose_runtime(self.flatbuffer, runtime)
        self.num_threads = num_threads
        if self.runtime == "lce":
            self._load_lce()
        else:
            self._load_tflite()

    def _load_tflite(self) -> None:
        interpreter = open_interpreter(self.flatbuffer, "tflite", self.num_threads)
        inputs = interpreter.get_input_details()
        outputs = interpreter.get_output_details()
        _check_single("inputs", len(inputs))
        _check_single("outputs", len(outputs))
        self._interpreter = interpreter
        self._input_index = inputs[0]["index"]
        self._output_index = outputs[0]["index"]
        self.input = _spec(inputs[0]["shape"], inputs[0]["dtype"], inputs[0]["quantization"])
        self.output = _spec(outputs[0]["shape"], outputs[0]["dtype"], outputs[0]["quantization"])

    def _load_lce(self) -> None:
        interpreter = open_interpreter(self.flatbuffer, "lce", self.num_threads)
        _check_single("inputs", len(interpreter.input_shapes))
        _check_single("outputs", len(interpreter.output_shapes))
        self._interpreter = interpreter.interpreter  # the wrapper's per-sample predict
        self.input = _spec(
            interpreter.input_shapes[0],
            interpreter.input_types[0],
            (interpreter.input_scales[0], interpreter.input_zero_points[0]),
        )
        self.output = _spec(
            interpreter.output_shapes[0],
            interpreter.output_types[0],
            (interpreter.output_scales[0], interpreter.output_zero_points[0]),
        )

    def run(self, sample: np.ndarray) -> tuple[np.ndarray, float]:
        """The float32 output for one float32 input sample ``(h, w, c)`` (or with a batch axis
        of 1), and the seconds the interpreter took (for LCE including its input copy)."""
        sample = check_finite("sample", np.asarray(sample, np.float32), DeploymentError)
        if sample.shape == self.input.shape:
            sample = sample[np.newaxis]
        if sample.shape != (1, *self.input.shape):
            raise DeploymentError(
                f"Input of shape {sample.shape[1:] if sample.ndim else sample.shape} given; the "
                f"model takes {self.input.shape}."
            )
        value = self.input.quantize(sample)
        if self.runtime == "lce":
            start = time.perf_counter()
            output = self._interpreter.predict([value])[0]
            seconds = time.perf_counter() - start
        else:
            self._interpreter.set_tensor(self._input_index, value)
            start = time.perf_counter()
            self._interpreter.invoke()
            seconds = time.perf_counter() - start
            output = self._interpreter.get_tensor(self._output_index)
        return self.output.dequantize(np.asarray(output))[0], seconds

    def predict(self, samples: np.ndarray) -> np.ndarray:
        """Outputs for a batch of samples ``(n, h, w, c)``, one invocation each."""
        return np.stack([self.run(sample)[0] for sample in samples])


def _check_single(what: str, count: int) -> None:
    if count != 1:
        raise DeploymentError(
            f"The model has {count} {what}; the runner and benchmark handle image classifiers "
            "with one input and one output."
        )


def _spec(shape, dtype, quantization) -> TensorSpec:
    scale, zero_point = quantization if quantization else (0.0, 0)
    if isinstance(scale, (list, tuple)):
        scale = scale[0] if scale else 0.0
    return TensorSpec(
        tuple(int(d) for d in tuple(shape)[1:]),
        np.dtype(dtype),
        float(scale or 0.0),
        int(zero_point or 0),
    )
