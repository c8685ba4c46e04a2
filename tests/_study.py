"""Shared by the study tests: read report.md's results table back and compare it with results.json."""

from __future__ import annotations

from bench.compare import noisy_mark
from edgekit.result import Result
from targets.estimate import HOST_CPU, two_digits


def table_lines(md: str) -> list[str]:
    """The results table's lines (header, separator, rows), in report.md or in the README that quotes it."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| model | input |"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip("|").split("|")]


def _header(md: str) -> list[str]:
    return _cells(table_lines(md)[0])


def _table(md: str) -> list[list[str]]:
    return [_cells(line) for line in table_lines(md)[2:]]  # after the header and the separator


def check_report_matches(doc: dict, md: str) -> None:
    """Every cell of the results table is the JSON value, estimates say so, and the conclusion is quoted."""
    table, col = _table(md), {name: i for i, name in enumerate(_header(md))}
    assert len(table) == len(doc["rows"])
    for cells, r in zip(table, doc["rows"], strict=True):
        est = not r["measured"]
        how = "estimated" if est else f"measured on {r['host']}" if r.get("host") else "measured"
        if r.get("runs_on") == "host-cpu":
            how = f"estimated {HOST_CPU}"
        assert cells[:5] == [r["model"], "x".join(map(str, r["input_shape"])), r["quant"], r["target"], how]
        numbers = {"params (M)": r["params_m"], "MACs (M)": r["mmacs"], "size (MB)": r["size_mb"],
                   "p50 (ms)": r["latency_ms"]["p50"], "p90 (ms)": r["latency_ms"]["p90"],
                   "peak memory (MB)": r["estimated_memory_mb"] if est else r["peak_rss_mb"],
                   "GMAC/s": r["gmacs_per_s"]}
        for name, value in numbers.items():
            text = cells[col[name]]
            if name == "p50 (ms)" and r.get("noisy"):
                mark = noisy_mark(Result.from_dict(r))  # NOISY, or "2 rounds, no interval" (issue 32)
                assert text.endswith(f" {mark}"), (name, text)  # a noisy row is marked where its number is
                text = text[:-len(mark) - 1]
            if est and name in ("p50 (ms)", "p90 (ms)", "peak memory (MB)", "GMAC/s") and text != "-":
                assert text.endswith(" est."), (name, text)
                text = text[:-5]
                if name != "peak memory (MB)":  # latency and GMAC/s: two significant digits and the expected error
                    assert text == f"{two_digits(value)} ±{r['expected_error_pct']}%", (name, cells[col[name]], value)
                    continue
            assert (text == "-" and value is None) or float(text) == value, (name, text, value)
        ci = r["latency_ms"].get("ci95")
        if ci is not None:
            assert cells[col["95% interval (ms)"]] == f"{ci[0]}–{ci[1]}" and ci[0] <= r["latency_ms"]["p50"] <= ci[1]
        acc = r["accuracy_pct"]
        text = cells[col["accuracy (%)"]]
        assert (text == "not measured" and acc is None) or float(text) == acc
        from edgekit.energy import EnergyFigure, energy_text

        assert cells[col["energy (mJ)"]] == energy_text(EnergyFigure.from_dict(r))  # measured, or "est." as made
        if not est:  # a measurement's numbers are never marked est. (its energy may be: no sensor here)
            assert not any(c.endswith("est.") for i, c in enumerate(cells) if i != col["energy (mJ)"])
    for line in doc["conclusion"]:
        assert line in md
