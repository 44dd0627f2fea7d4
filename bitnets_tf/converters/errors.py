"""The error every converter raises when it cannot produce a correct ``.tflite``."""

from __future__ import annotations


class ConversionError(RuntimeError):
    """Conversion failed, or the converted model does not compute what the Keras model does.

    Attributes:
        target: ``"lce"``, ``"int8"`` or ``"float"``.
        first_diverging_layer: name of the first layer whose converted output disagrees with
            Keras beyond the stated tolerance (None when the failure is not a divergence or
            the layer could not be located).
        details: the converter's own log or the measured agreement, for the bug report.
    """

    def __init__(
        self,
        message: str,
        *,
        target: str | None = None,
        first_diverging_layer: str | None = None,
        details: str = "",
    ):
        super().__init__(message)
        self.target = target
        self.first_diverging_layer = first_diverging_layer
        self.details = details
