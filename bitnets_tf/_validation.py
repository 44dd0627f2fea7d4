"""Argument checks that raise an error naming the parameter and what it accepts."""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral, Real

import numpy as np


def check_int_at_least(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def check_non_negative(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or value < 0:
        raise ValueError(f"`{name}` must be a number >= 0, got {value!r}.")
    return float(value)


def check_positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or value <= 0:
        raise ValueError(f"`{name}` must be a number > 0, got {value!r}.")
    return float(value)


def check_optional_positive(name: str, value: object) -> float | None:
    return None if value is None else check_positive(name, value)


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    allowed = sorted(choices)
    if value not in allowed:
        raise ValueError(f"`{name}` must be one of {allowed}, got {value!r}.")
    return str(value)


def first_non_finite(array: np.ndarray) -> tuple[int, ...] | None:
    """The index of the first NaN or ±inf in ``array`` (C order), or None."""
    if array.dtype.kind not in "fc":
        return None
    bad = np.flatnonzero(~np.isfinite(array.ravel()))
    return tuple(int(i) for i in np.unravel_index(bad[0], array.shape)) if bad.size else None


def check_finite(name: str, array: np.ndarray, error: type[Exception] = ValueError) -> np.ndarray:
    """``array`` if every value is finite, else ``error`` naming ``name``, the first bad
    index and value."""
    index = first_non_finite(array)
    if index is not None:
        raise error(
            f"`{name}` holds {array[index]} at index {index}: inputs must be finite numbers "
            "(NaN or inf make quantizers and interpreters fail or crash). Clean or drop "
            "that sample."
        )
    return array


def check_samples(name: str, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """``arrays`` (one per model input, samples on axis 0) if they hold the same, non-zero
    number of samples and only finite values; else a ValueError naming ``name``."""
    counts = {len(array) if array.ndim else 0 for array in arrays}
    if counts == {0}:
        raise ValueError(f"`{name}` holds no samples; give at least one (axis 0 is samples).")
    if len(counts) != 1:
        raise ValueError(
            f"`{name}` arrays hold different numbers of samples {[len(a) for a in arrays]}; "
            "every model input needs one array with the same number of samples."
        )
    for position, array in enumerate(arrays):
        check_finite(name if len(arrays) == 1 else f"{name}[{position}]", array)
    return arrays


def check_input_quantizer(quantizer: object, parameter: str = "input_quantizer") -> None:
    """Refuse a weight quantizer as an activation quantizer.

    Weight quantizers compute a statistic over the whole tensor (XNOR-Net's and larq's
    magnitude-aware scale, TWN's threshold, TTQ's threshold, DoReFa's ``max|tanh w|``). On
    activations that tensor includes the batch axis, so one sample's output would depend on
    the other samples in the batch. Activation quantizers work on each value (each sample)
    separately: ``ste_sign``, ``approx_sign``, ``rsign``, ``ternary_activation``, ...
    """
    import larq as lq

    from bitnets_tf import quantizers

    weight_classes = (
        quantizers.XnorWeightScale,
        quantizers.TwnTernary,
        quantizers.TTQ,
        lq.quantizers.MagnitudeAwareSign,
    )
    weight_functions = (quantizers.xnor_weight_scale, quantizers.twn_ternary, quantizers.ttq)
    is_weight_dorefa = isinstance(quantizer, lq.quantizers.DoReFa) and (
        getattr(quantizer, "mode", None) == "weights"
    )
    if isinstance(quantizer, weight_classes) or quantizer in weight_functions or is_weight_dorefa:
        name = getattr(quantizer, "__name__", type(quantizer).__name__)
        raise ValueError(
            f"`{parameter}` got the weight quantizer {name}: it computes its scale or "
            "threshold over the whole tensor, which for activations includes the batch axis, "
            "so each sample's output would depend on the rest of the batch. Use a per-value "
            "activation quantizer such as 'ste_sign', 'approx_sign', 'rsign' or "
            "'ternary_activation' (weight quantizers belong in kernel_quantizer)."
        )
