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
