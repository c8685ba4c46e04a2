"""Latency on a Cortex-M, estimated from published TFLite Micro + CMSIS-NN figures: cycles per MAC, per core.

The model is the simplest one the data supports: ``ms = MACs * cycles_per_mac(core) / MHz / 1e3``, with
``cycles_per_mac`` the geometric mean over a core's published rows. Its error is measured out of sample by
leave-one-out: each row is predicted from the others. A core with a single row has no held-out error of its
own; it borrows the worst held-out error among the other cores and says so. Run ``python -m targets.mcu_latency``
to print the table docs/mcu.md quotes.

MACs: the published architectures counted by edgekit's Keras cost model (MobileNets: ``edgekit.models.build``),
or by hand from the MLPerf Tiny training scripts (mlcommons/tiny, benchmark/training), as noted per row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_TINY_V05 = ("MLPerf Tiny v0.5 closed division, reference submission: NUCLEO-L4R5ZI (Cortex-M4, 120 MHz), TFLM "
             "v2.3.1 built with TAGS=cmsis-nn (mlcommons/tiny_results_v0.5 closed/reference/results/Nucleo-L4R5ZI/"
             "*/performance/results.txt, median throughput; mlcommons/tiny v0.1 reference_submissions "
             "setup_example.sh)")
_PLUMERAI = ("Plumerai blog, 4 Oct 2021, 'The world's fastest deep learning inference software for Arm Cortex-M': "
             "TensorFlow Lite for Microcontrollers 2.5 with CMSIS-NN, 129 ms on STM32F746G-Discovery (216 MHz)")


@dataclass(frozen=True)
class Row:
    core: str
    board: str
    mhz: float
    model: str
    macs: int
    ms: float
    macs_note: str
    source: str

    @property
    def cycles_per_mac(self) -> float:
        return self.ms * 1e3 * self.mhz / self.macs


ROWS = (
    Row("cortex-m4", "NUCLEO-L4R5ZI", 120, "VWW: MobileNet v1 0.25, 96x96, 2 classes", 7_489_664, 1e3 / 1.665,
        "edgekit.models.build('mobilenet', input_shape=96, alpha=0.25, classes=2)", _TINY_V05),
    Row("cortex-m4", "NUCLEO-L4R5ZI", 120, "IC: ResNet-8 (CIFAR-10, 32x32)", 12_501_632, 1e3 / 1.420,
        "by hand: 3x3 convs 16-32-64 with two 1x1 shortcuts, dense 64x10", _TINY_V05),
    Row("cortex-m4", "NUCLEO-L4R5ZI", 120, "KWS: DS-CNN (49x10 MFCC)", 2_656_768, 1e3 / 5.497,
        "by hand: conv 10x4/2 (64), 4x (depthwise 3x3 + pointwise 64), dense 64x12", _TINY_V05),
    Row("cortex-m4", "NUCLEO-L4R5ZI", 120, "AD: FC autoencoder (640-128x4-8-128x4-640)", 264_192, 1e3 / 99.487,
        "by hand: ten dense layers", _TINY_V05),
    Row("cortex-m7", "STM32F746G-DISCO", 216, "MobileNet v2 0.30, 80x80, 1000 classes", 8_970_112, 129.0,
        "edgekit.models.build('mobilenetv2', input_shape=80, alpha=0.3, classes=1000)", _PLUMERAI),
)


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def cycles_per_mac(core: str, rows: tuple[Row, ...] = ROWS) -> float:
    """The fitted cost of one int8 MAC on ``core``, in cycles (geometric mean of its rows)."""
    mine = [r.cycles_per_mac for r in rows if r.core == core]
    if not mine:
        raise KeyError(f"no published TFLM latency rows for {core!r}")
    return _geomean(mine)


def held_out() -> list[dict]:
    """Each row predicted from the other rows of its core (leave-one-out); cores with one row are skipped."""
    out = []
    for i, row in enumerate(ROWS):
        others = tuple(r for j, r in enumerate(ROWS) if j != i and r.core == row.core)
        if not others:
            continue
        predicted = row.macs * cycles_per_mac(row.core, others) / row.mhz / 1e3
        out.append({"core": row.core, "model": row.model, "published_ms": row.ms, "predicted_ms": predicted,
                    "error_pct": 100 * (predicted - row.ms) / row.ms})
    return out


def expected_error_pct(core: str) -> tuple[float, str]:
    """The median |held-out error| for ``core``, and where it comes from."""
    errors = [abs(h["error_pct"]) for h in held_out() if h["core"] == core]
    if errors:
        errors.sort()
        mid = len(errors) // 2
        median = errors[mid] if len(errors) % 2 else (errors[mid - 1] + errors[mid]) / 2
        return round(median), f"median |leave-one-out error| over {len(errors)} published {core} rows"
    worst = max(abs(h["error_pct"]) for h in held_out())
    n = sum(r.core == core for r in ROWS)
    return round(worst), (f"{core} has {n} published row(s), so no held-out error of its own: the worst "
                          "leave-one-out error of the other cores is borrowed")


def estimate_ms(macs: int, core: str, mhz: float) -> float:
    """Estimated int8 latency of ``macs`` MACs on ``core`` at ``mhz``."""
    return macs * cycles_per_mac(core) / mhz / 1e3


def sources(core: str) -> list[str]:
    return list(dict.fromkeys(r.source for r in ROWS if r.core == core))


def main() -> None:
    print("| core | model | MACs | published ms | cycles/MAC | held-out predicted ms | error |")
    print("|---|---|---:|---:|---:|---:|---:|")
    by_model = {(h["core"], h["model"]): h for h in held_out()}
    for r in ROWS:
        h = by_model.get((r.core, r.model))
        pred = f"{h['predicted_ms']:.1f}" if h else "-"
        err = f"{h['error_pct']:+.0f}%" if h else "-"
        print(f"| {r.core} | {r.model} | {r.macs:,} | {r.ms:.1f} | {r.cycles_per_mac:.2f} | {pred} | {err} |")
    for core in dict.fromkeys(r.core for r in ROWS):
        pct, basis = expected_error_pct(core)
        print(f"\n{core}: {cycles_per_mac(core):.2f} cycles/MAC; expected error ±{pct}% ({basis})")


if __name__ == "__main__":
    main()
