"""The study's plots as PNG bytes (matplotlib, Agg). matplotlib is the ``[plot]`` extra, imported inside functions.

Every plot marks estimates with hollow markers (or hatching) and measurements with filled ones. A measured point
carries its 95% interval as an error bar, and a noisy one (interval wider than ±5% of p50) a dashed ring; an
estimated latency carries an error bar of its expected error (``expected_error_pct``, docs/estimates.md).

One job over 250 lines: the study's figures, which share one way of drawing a point (its marker, colour,
interval and estimate mark) and one legend; split, the figures would each need those shared helpers.
"""

from __future__ import annotations

import io

from bench.protocol import REL_HALFWIDTH
from edgekit.study.study_row import StudyRow

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
KIND_COLOURS = {"standard conv": "#d62728", "depthwise": "#2ca02c", "pointwise (1x1)": "#1f77b4", "dense": "#7f7f7f"}


def _plt():
    from edgekit.errors import import_extra

    import_extra("matplotlib", needed_for="edgekit study's plots").use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 11, "axes.titlesize": 12, "legend.fontsize": 9.5, "figure.dpi": 100})
    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def _styles(rows: list[StudyRow]) -> tuple[dict, dict]:
    models = list(dict.fromkeys(r.model for r in rows))
    targets = list(dict.fromkeys(r.target for r in rows))
    return ({m: MARKERS[i % len(MARKERS)] for i, m in enumerate(models)},
            {t: COLOURS[i % len(COLOURS)] for i, t in enumerate(targets)})


def _plain_ticks(axis) -> None:
    """Log-axis labels as plain numbers (0.1, 10, 1000), not powers of ten, each label distinct: 1-2-5 steps
    over a short range, every 1..9 step over a shorter one, and evenly spaced ticks over a range under 3x; each
    label carries as many significant digits as it takes to tell the ticks apart (issue 32: 0.5, 0.5, 0.4)."""
    from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter

    lo, hi = axis.axes.get_xlim() if axis is axis.axes.xaxis else axis.axes.get_ylim()
    span = hi / max(lo, 1e-12)
    if span < 3:
        axis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
    elif span < 30:
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
    elif span < 1e3:
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(_distinct_formatter())
    axis.set_minor_formatter(NullFormatter())


def _plain(value: float, digits: int) -> str:
    import numpy as np

    return np.format_float_positional(value, precision=digits, unique=False, fractional=False, trim="-")


def _distinct_formatter_class():
    from matplotlib.ticker import Formatter

    class Distinct(Formatter):
        """Plain numbers with the fewest significant digits (from 1) that keep every tick's label distinct."""

        def format_ticks(self, values):
            values = list(values)
            for digits in range(1, 10):
                labels = [_plain(v, digits) for v in values]
                if len(set(labels)) == len(labels):
                    return labels
            return labels

        def __call__(self, x, pos=None):
            return _plain(x, 3)

    return Distinct


def _distinct_formatter():  # a class made on first use: importing this module needs no matplotlib
    return _distinct_formatter_class()()


def _point(ax, x, y, marker, colour, measured: bool, size: float = 70, error_pct: float | None = None,
           axis: str = "y") -> None:
    """One marker: filled if measured, hollow if estimated; an estimate's ±error_pct as an error bar on ``axis``."""
    ax.scatter([x], [y], marker=marker, s=size, edgecolors=colour, linewidths=1.8,
               facecolors=colour if measured else "none", zorder=3)
    if not measured and error_pct:
        v = y if axis == "y" else x
        bar = [[v * min(error_pct, 95) / 100], [v * error_pct / 100]]
        ax.errorbar([x], [y], **{f"{axis}err": bar}, fmt="none", ecolor=colour, elinewidth=1.2, capsize=3,
                    zorder=2)


NOISY_RING = {"marker": "o", "s": 330, "facecolors": "none", "edgecolors": "#e69500", "linewidths": 2.0,
              "linestyle": "--"}


def _interval(ax, x, y, row: StudyRow, colour, *, horizontal: bool = False) -> None:
    """The p50's 95% interval as an error bar, and a dashed ring round a noisy point."""
    ci, p50 = row.result.figures.latency_ms.ci95, row.result.p50_ms
    if ci:
        err = [[max(p50 - ci[0], 0)], [max(ci[1] - p50, 0)]]
        ax.errorbar([x], [y], **({"xerr": err} if horizontal else {"yerr": err}), fmt="none", ecolor=colour,
                    elinewidth=1.4, capsize=4, zorder=2)
    if row.result.noisy:
        ax.scatter([x], [y], zorder=4, **NOISY_RING)


def _legends(ax, markers: dict, colours: dict, titles: dict, colour_title: str = "target", extra=()) -> None:
    from matplotlib.lines import Line2D

    def handle(**kw):
        return Line2D([], [], linestyle="none", markersize=8, markeredgewidth=1.6, **kw)

    model_h = [handle(marker=mk, color="#444", markerfacecolor="#444", label=titles.get(m, m))
               for m, mk in markers.items()]
    target_h = [handle(marker="o", color=c, markerfacecolor=c, label=t) for t, c in colours.items()]
    fill_h = [handle(marker="o", color="#444", markerfacecolor="#444", label="measured (bar: 95% interval)"),
              handle(marker="o", color="#444", markerfacecolor="none", label="estimated (bar: ±expected error)"),
              Line2D([], [], linestyle="none", marker="o", markersize=13, markeredgewidth=1.6, color="#e69500",
                     markerfacecolor="none", label=f"NOISY: interval > ±{REL_HALFWIDTH:.0%}"), *extra]
    first = ax.legend(handles=model_h, title="model", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.add_artist(first)
    second = ax.legend(handles=target_h, title=colour_title, loc="upper left", bbox_to_anchor=(1.01, 0.52))
    ax.add_artist(second)
    ax.legend(handles=fill_h, title="marker", loc="upper left", bbox_to_anchor=(1.01, 0.22))


def latency_vs_macs(rows: list[StudyRow], titles: dict) -> bytes:
    """p50 latency against MACs, log-log: a marker per model, a colour per target, hollow for estimates."""
    plt = _plt()
    rows = [r for r in rows if r.result.p50_ms and r.result.figures.macs]
    markers, colours = _styles(rows)
    fig, ax = plt.subplots(figsize=(9.5, 5.6))
    n = len(colours)
    dodge = {t: 10 ** (0.06 * (i - (n - 1) / 2)) for i, t in enumerate(colours)}  # targets side by side
    labelled = set()
    for r in rows:
        x, y = r.result.figures.macs / 1e6 * dodge[r.target], r.result.p50_ms
        _point(ax, x, y, markers[r.model], colours[r.target], r.result.measured,
               error_pct=r.result.expected_error_pct)
        _interval(ax, x, y, r, colours[r.target])
        if (r.model, r.quant, y) in labelled:  # e.g. fp32 on the Coral runs on its host: same as rpi4
            continue
        labelled.add((r.model, r.quant, y))
        left = r.quant == "fp32"  # fp32 labels left of the marker, the others right
        ax.annotate(r.quant, (x, y), xytext=(-7 if left else 7, -3), textcoords="offset points", fontsize=8,
                    color="#555", ha="right" if left else "left")
    return _against_macs(fig, ax, "p50 latency per inference (ms, log scale)", "Latency vs compute", markers, colours,
                         titles, xnote="targets offset sideways to stay readable")


def energy_vs_macs(rows: list[StudyRow], titles: dict) -> bytes:
    """Energy per inference above idle against MACs, log-log, as the latency plot: a marker per model, a colour
    per target; filled when measured (bar: 95% interval), hollow when estimated (bar: the held-out error band)."""
    plt = _plt()
    rows = [r for r in rows if r.result.energy is not None and r.result.energy.mj and r.result.figures.macs]
    markers, colours = _styles(rows)
    fig, ax = plt.subplots(figsize=(9.5, 5.6))
    n = len(colours)
    dodge = {t: 10 ** (0.06 * (i - (n - 1) / 2)) for i, t in enumerate(colours)}
    for r in rows:
        energy = r.result.energy
        x, y, colour = r.result.figures.macs / 1e6 * dodge[r.target], energy.mj, colours[r.target]
        _point(ax, x, y, markers[r.model], colour, bool(energy.measured))
        lo, hi = energy.low_mj, energy.high_mj
        if lo is not None and hi is not None:
            ax.errorbar([x], [y], yerr=[[max(y - lo, 0)], [max(hi - y, 0)]], fmt="none", ecolor=colour,
                        elinewidth=1.3, capsize=4, zorder=2)
        left = r.quant == "fp32"
        ax.annotate(r.quant, (x, y), xytext=(-7 if left else 7, -3), textcoords="offset points", fontsize=8,
                    color="#555", ha="right" if left else "left")
    return _against_macs(fig, ax, "energy per inference above idle (mJ, log scale)", "Energy vs compute", markers,
                         colours, titles, xnote="targets offset sideways")


def _against_macs(fig, ax, ylabel: str, title: str, markers, colours, titles, *, xnote: str) -> bytes:
    """The log-log axes, labels, grid and legends that the latency and energy plots share; the PNG."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_ticks(ax.xaxis)
    _plain_ticks(ax.yaxis)
    ax.set_xlabel(f"multiply-accumulates per inference (millions, log scale; {xnote})")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{title}, one image, batch 1")
    ax.grid(True, which="major", alpha=0.35)
    _legends(ax, markers, colours, titles)
    return _png(fig)


def size_by_quant(rows: list[StudyRow], titles: dict) -> bytes:
    """File size per model, one bar per quantization mode (log scale: LeNet-5 and VGG-16 differ 1000x)."""
    plt = _plt()
    sizes = {(r.model, r.quant): r.size_mb for r in rows}
    models = list(dict.fromkeys(r.model for r in rows))
    quants = list(dict.fromkeys(r.quant for r in rows))
    width = 0.8 / len(quants)
    fig, ax = plt.subplots(figsize=(9.5, 5.0))
    for i, q in enumerate(quants):
        xs = [j + (i - (len(quants) - 1) / 2) * width for j in range(len(models))]
        ys = [sizes.get((m, q), 0) for m in models]
        bars = ax.bar(xs, ys, width * 0.95, label=q, color=COLOURS[i % len(COLOURS)])
        for bar, y in zip(bars, ys, strict=True):
            ax.annotate(f"{y:.3g}", (bar.get_x() + bar.get_width() / 2, y), xytext=(0, 2),
                        textcoords="offset points", ha="center", fontsize=8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(models)), [titles.get(m, m) for m in models])
    ax.autoscale_view()
    _plain_ticks(ax.yaxis)
    ax.set_ylabel(".tflite file size (MB, log scale)")
    ax.set_xlabel("model")
    ax.set_title("Model size by quantization mode")
    ax.legend(title="quantization")
    ax.grid(True, axis="y", alpha=0.35)
    return _png(fig)


def pareto(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both: lower latency (x) and higher accuracy (y); sorted by x."""
    front, best = [], float("-inf")
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if y > best:
            front.append((x, y))
            best = y
    return front


def accuracy_vs_latency(rows: list[StudyRow], titles: dict, target: str) -> bytes:
    """Measured accuracy against p50 latency on one target, with the Pareto front."""
    plt = _plt()
    rows = [r for r in rows if r.target == target and r.accuracy_pct is not None and r.result.p50_ms]
    markers, _ = _styles(rows)
    quant_colours = {q: COLOURS[i % len(COLOURS)] for i, q in enumerate(dict.fromkeys(r.quant for r in rows))}
    fig, ax = plt.subplots(figsize=(9.5, 5.4))
    for r in rows:
        _point(ax, r.result.p50_ms, r.accuracy_pct, markers[r.model], quant_colours[r.quant], r.result.measured,
               error_pct=r.result.expected_error_pct, axis="x")
        _interval(ax, r.result.p50_ms, r.accuracy_pct, r, quant_colours[r.quant], horizontal=True)
    front = pareto([(r.result.p50_ms, r.accuracy_pct) for r in rows])
    if front:  # a step from each best point to the right edge: nothing above and left of it is possible
        right = max(r.result.p50_ms for r in rows) * 1.3
        ax.step([p[0] for p in front] + [right], [p[1] for p in front] + [front[-1][1]], where="post",
                color="#333", linestyle="--", linewidth=1.2, zorder=2)
    ax.set_xscale("log")
    _plain_ticks(ax.xaxis)
    ax.set_xlabel(f"p50 latency on {target} (ms, log scale)")
    ax.set_ylabel("top-1 accuracy on held-out --data (%)")
    est = "" if all(r.result.measured for r in rows) else " (hollow: latency estimated)"
    ax.set_title(f"Accuracy vs latency on {target}{est}")
    ax.grid(True, alpha=0.35)
    from matplotlib.lines import Line2D

    extra = [Line2D([], [], color="#333", linestyle="--", label="Pareto front")] if front else []
    _legends(ax, markers, quant_colours, titles, "quantization", extra)
    return _png(fig)


def layer_macs(breakdowns: list[dict], titles: dict) -> bytes:
    """Per-layer MACs, one bar per convolution or dense layer, coloured by layer kind; one panel per model."""
    plt = _plt()
    fig, axes = plt.subplots(len(breakdowns), 1, figsize=(10, 3.4 * len(breakdowns)), squeeze=False)
    for ax, doc in zip(axes[:, 0], breakdowns, strict=True):
        layers = doc["layers"]
        ax.bar(range(len(layers)), [lyr["macs"] / 1e6 for lyr in layers],
               color=[KIND_COLOURS[lyr["kind"]] for lyr in layers], width=0.85)
        total = doc["total_macs"]
        shares = ", ".join(f"{k} {100 * v / total:.2g}%" for k, v in doc["totals"].items() if v)
        ax.set_title(f"{titles.get(doc['model'], doc['model'])}: {total / 1e6:,.0f} M MACs ({shares})")
        ax.set_ylabel("MACs (millions)")
        ax.set_xlabel("layer (convolution or dense, in order)")
        ax.grid(True, axis="y", alpha=0.35)
        ax.set_xlim(-0.8, len(layers) - 0.2)
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=k) for k, c in KIND_COLOURS.items()]
    axes[0, 0].legend(handles=handles, title="layer kind", loc="upper right")
    fig.tight_layout()
    return _png(fig)
