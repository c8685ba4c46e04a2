"""Every plot's tick labels are distinct (issue 32: a narrow log range read 0.5, 0.5, 0.5, 0.4): one-model and
narrow-range studies are drawn and each axis's visible labels read back from matplotlib."""

from __future__ import annotations

import pytest

from tests.test_study_fast import _row, _rows

pytest.importorskip("matplotlib")


@pytest.fixture
def drawn(monkeypatch):
    from edgekit.study import plots

    figs = []

    def keep(fig) -> bytes:
        fig.canvas.draw()
        figs.append(fig)
        return b""

    monkeypatch.setattr(plots, "_png", keep)
    return figs


def _labels(axis) -> list[str]:
    lo, hi = sorted(axis.get_view_interval())
    return [t.get_text() for t, loc in zip(axis.get_ticklabels(), axis.get_ticklocs(), strict=True)
            if lo <= loc <= hi and t.get_text()]


def _all_distinct(figs) -> None:
    for fig in figs:
        for ax in fig.axes:
            for axis in (ax.xaxis, ax.yaxis):
                labels = _labels(axis)
                assert len(labels) == len(set(labels)), labels


@pytest.mark.parametrize("p50s", [(0.41, 0.47), (0.449, 0.452), (5.0, 5.0), (1.0, 900.0)])
def test_tick_labels_are_distinct(drawn, p50s):
    from edgekit.study import plots
    from edgekit.study.summary import titles

    energy = {"energy_source": "e", "energy_measured": False}  # a figure, as a row's document has it
    rows = _rows({**_row("cpu", True, p50s[0]), **energy, "energy_mj": 2.0 * p50s[0]},
                 {**_row("rpi4", False, p50s[1]), "quant": "fp32", "size_mb": 4.1, **energy,
                  "energy_mj": 2.1 * p50s[1]})
    plots.latency_vs_macs(rows, titles())
    plots.size_by_quant(rows, titles())
    plots.energy_vs_macs(rows, titles())
    _all_distinct(drawn)
    assert any(len(_labels(ax.yaxis)) >= 2 for fig in drawn for ax in fig.axes)
