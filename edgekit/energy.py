"""Energy per inference: one typed figure, measured by a sensor or estimated from published power figures.

An :class:`EnergyFigure` is what a result carries about energy, whatever made it: RAPL on x86 (``bench.energy``),
NVML on an NVIDIA GPU, the Raspberry Pi 5's PMIC (``bench.energy_pi5``), or the estimator
(``targets.energy``). A result carries it as ``Result.energy``; in the result's document (``--json``, the CSV and
the results database) it is flattened into one set of keys (:data:`KEYS`) by :meth:`EnergyFigure.to_dict`, and
read back by :meth:`EnergyFigure.from_dict`.

Energy is per inference and *above idle*: what running the model adds to what the machine draws doing nothing.
A figure that could not be made has ``mj`` None and says why in ``note`` (e.g. RAPL unreadable and no published
power figure for this CPU).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

PREFIX = "energy_"


@dataclass(frozen=True, kw_only=True)
class EnergyFigure:
    """Millijoules per inference above idle, with how they were obtained.

    Attributes:
        mj: energy per inference above idle, or None when none could be measured or estimated (see ``note``).
        low_mj, high_mj: the 95% interval over rounds (measured) or the expected-error band (estimated).
        measured: True when a sensor read it here; False for an estimate.
        source: the sensor or the estimator, in words (``"RAPL package-0"``, ``"estimated: ..."``).
        covers: what the figure includes and leaves out (``"whole CPU socket, not the process"``).
        expected_error_pct: an estimate's held-out error (docs/energy.md); None when measured.
        power_w: average power above idle while running (measured), or the power the estimate assumed.
        idle_w: the idle baseline read beside the timed loop (measured), or the published idle figure.
        period_s: the sensor's sampling period (None for an energy counter read before and after).
        rounds: how many rounds (fresh processes) the figure is the median of.
        note: why there is no figure, or what to keep in mind about it.
    """

    mj: float | None
    measured: bool
    source: str
    low_mj: float | None = None
    high_mj: float | None = None
    covers: str = ""
    expected_error_pct: int | None = None
    power_w: float | None = None
    idle_w: float | None = None
    period_s: float | None = None
    rounds: int | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.mj is not None and self.mj < 0:
            raise ValueError(f"energy per inference must be 0 or more, got {self.mj} mJ")
        if self.expected_error_pct is not None and self.measured:
            raise ValueError("a measured energy figure has an interval, not an expected error")

    def to_dict(self) -> dict:
        """The flat keys a result's document, the CSV and the database carry: ``energy_mj``, ``energy_low_mj`` ..."""
        return {PREFIX + f.name: _round(getattr(self, f.name)) for f in fields(self)}

    def rounded(self) -> EnergyFigure:
        """This figure as its document has it (:meth:`to_dict`: floats at four significant digits), for a report
        whose numbers are its results file's."""
        return replace(self, **{f.name: _round(getattr(self, f.name)) for f in fields(self)})

    @classmethod
    def from_dict(cls, doc: dict) -> EnergyFigure | None:
        """The figure a document carries, or None when it has none (a result made before energy, a failure)."""
        if PREFIX + "source" not in doc:
            return None
        return cls(**{f.name: doc.get(PREFIX + f.name) for f in fields(cls)})

    @classmethod
    def unavailable(cls, source: str, note: str) -> EnergyFigure:
        """No figure: ``note`` says why, in one line, and how to get one."""
        return cls(mj=None, measured=False, source=source, note=note)


KEYS: tuple[str, ...] = tuple(PREFIX + f.name for f in fields(EnergyFigure))


def _round(value):
    return float(f"{value:.4g}") if isinstance(value, float) else value


def energy_text(fig: EnergyFigure | None) -> str:
    """A table cell: ``"12 (11–13)"`` measured, ``"31 ±40% est."`` estimated, ``"-"`` without a figure."""
    if fig is None or fig.mj is None:
        return "-"
    if fig.measured:
        interval = "" if fig.low_mj is None else f" ({_g(fig.low_mj)}–{_g(fig.high_mj)})"
        return f"{_g(fig.mj)}{interval}"
    pct = "" if fig.expected_error_pct is None else f" ±{fig.expected_error_pct}%"
    return f"{_g(fig.mj)}{pct} est."


def _g(value: float) -> str:
    return f"{value:.2g}" if value < 10 else f"{value:.0f}"


def combine_errors(*pcts: float) -> int:
    """Relative errors compounded, as a product of factors: (1 + a)(1 + b) - 1, in percent, rounded up."""
    total = 1.0
    for p in pcts:
        total *= 1 + p / 100
    return int(-(-round((total - 1) * 100, 6) // 1))
