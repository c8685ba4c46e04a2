"""Shared by the study tests: read report.md's results table back and compare it with results.json."""

from __future__ import annotations

from targets.estimate import HOST_CPU, two_digits


def _table(md: str) -> list[list[str]]:
    lines = md.split("## Results", 1)[1].strip().splitlines()
    table = []
    for line in lines[2:]:  # after the header and the separator, up to the first line that is not a row
        if not line.startswith("|"):
            break
        table.append([c.strip() for c in line.strip("|").split("|")])
    return table


def check_report_matches(doc: dict, md: str) -> None:
    """Every cell of the results table is the JSON value, estimates say so, and the conclusion is quoted."""
    table = _table(md)
    assert len(table) == len(doc["rows"])
    for cells, r in zip(table, doc["rows"], strict=True):
        est = not r["measured"]
        how = "estimated" if est else f"measured on {r['host']}" if r.get("host") else "measured"
        if r.get("runs_on") == "host-cpu":
            how = f"estimated {HOST_CPU}"
        assert cells[:5] == [r["model"], "x".join(map(str, r["input_shape"])), r["quant"], r["target"], how]
        numbers = {5: r["params_m"], 6: r["mmacs"], 7: r["size_mb"], 8: r["latency_ms"]["p50"],
                   9: r["latency_ms"]["p90"], 10: r["estimated_memory_mb"] if est else r["peak_rss_mb"],
                   11: r["gmacs_per_s"]}
        for i, value in numbers.items():
            text = cells[i]
            if est and i >= 8 and text != "-":
                assert text.endswith(" est."), (i, text)
                text = text[:-5]
                if i != 10:  # latency and GMAC/s: two significant digits and the expected error
                    assert text == f"{two_digits(value)} ±{r['expected_error_pct']}%", (i, cells[i], value)
                    continue
            assert (text == "-" and value is None) or float(text) == value, (i, cells[i], value)
        acc = r["accuracy_pct"]
        assert (cells[12] == "not measured" and acc is None) or float(cells[12]) == acc
        if not est:
            assert not any(c.endswith("est.") for c in cells)
    for line in doc["conclusion"]:
        assert line in md
