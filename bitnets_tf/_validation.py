"""Argument checks that raise a ValueError naming the parameter and what it accepts."""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral, Real


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
