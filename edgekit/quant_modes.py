"""The quantization modes: one frozen record per post-training mode, keyed by a ``str`` Enum (core, shared by all).

Mode names say what ends up in the file: ``fp32`` (no quantization), ``fp16`` (float16 weights), ``dynamic``
(int8 weights, float activations), ``int8`` (full integer, int8 input and output unless ``float_io``) and
``int16x8`` (int16 activations, int8 weights). The same records drive the CLI flags, the output file name,
validation and the parametrized tests. An impossible combination is refused when a :class:`QuantConfig` is
built, never silently changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from edgekit.errors import UsageError, unknown_name


class QuantMode(str, Enum):
    FP32 = "fp32"
    FP16 = "fp16"
    DYNAMIC = "dynamic"
    INT8 = "int8"
    INT16X8 = "int16x8"


@dataclass(frozen=True)
class ModeSpec:
    """What a mode stores: the dtype of conv/dense weights, of activations and of the model's I/O."""

    mode: QuantMode
    help: str
    weights: str
    activations: str
    io: str
    calibrated: bool  # needs a representative dataset
    float_io_allowed: bool = False


MODES: dict[QuantMode, ModeSpec] = {
    s.mode: s
    for s in (
        ModeSpec(QuantMode.FP32, "float32, no quantization (the default)", "float32", "float32", "float32", False),
        ModeSpec(QuantMode.FP16, "float16 weights, about half the size", "float16", "float32", "float32", False),
        ModeSpec(QuantMode.DYNAMIC, "int8 weights with float activations", "int8", "float32", "float32", False),
        ModeSpec(QuantMode.INT8, "full integer with int8 input and output (Edge TPU, microcontrollers)",
                 "int8", "int8", "int8", True, float_io_allowed=True),
        ModeSpec(QuantMode.INT16X8, "int16 activations with int8 weights", "int8", "int16", "float32", True),
    )
}

MODE_NAMES: tuple[str, ...] = tuple(m.value for m in QuantMode)


def get_mode(name: str | QuantMode) -> ModeSpec:
    try:
        return MODES[QuantMode(str(getattr(name, "value", name)).lower())]
    except ValueError:
        raise unknown_name("quantization mode", str(name), MODE_NAMES) from None


@dataclass(frozen=True)
class QuantConfig:
    """A mode plus its options, checked when built.

    Args:
        mode: the quantization mode.
        float_io: keep float32 input and output around int8 internals (int8 only).
        edgetpu: compile for the Edge TPU afterwards (int8 only).
        per_layer: run TF's QuantizationDebugger for a per-layer error table (int8 only).
    """

    mode: QuantMode = QuantMode.FP32
    float_io: bool = False
    edgetpu: bool = False
    per_layer: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", get_mode(self.mode).mode)
        if self.float_io and not self.spec.float_io_allowed:
            allowed = " or ".join(f"--{s.mode.value}" for s in MODES.values() if s.float_io_allowed)
            raise UsageError(f"--float-io needs {allowed}, got --{self.mode.value}")
        for flag, on in (("--edgetpu", self.edgetpu), ("--per-layer", self.per_layer)):
            if on and self.mode is not QuantMode.INT8:
                raise UsageError(f"{flag} needs --int8, got --{self.mode.value}")
        if self.edgetpu and self.float_io:
            raise UsageError("--edgetpu needs int8 input and output; drop --float-io")

    @property
    def spec(self) -> ModeSpec:
        return MODES[self.mode]

    @property
    def io(self) -> str:
        return "float32" if self.float_io else self.spec.io

    @property
    def tag(self) -> str:
        """The name used in file names and cache keys, e.g. ``int8`` or ``int8_floatio``."""
        return self.mode.value + ("_floatio" if self.float_io else "")


def config_from_flags(modes: list[QuantMode], float_io: bool = False, edgetpu: bool = False,
                      per_layer: bool = False, *, quant: str | None = None) -> QuantConfig:
    """The config for CLI mode flags: at most one mode; ``--edgetpu`` alone implies ``--int8``.

    ``quant`` is ``--quant NAME``, the word ``edgekit bench`` and the study use; the same as the flag ``--NAME``.
    """
    if quant is not None:
        modes = [*modes, get_mode(quant).mode]
    if len(set(modes)) > 1:
        given = " ".join(f"--{m.value}" for m in modes)
        raise UsageError(f"choose one quantization mode, got {given}")
    mode = modes[0] if modes else (QuantMode.INT8 if edgetpu else QuantMode.FP32)
    return QuantConfig(mode, float_io=float_io, edgetpu=edgetpu, per_layer=per_layer)
