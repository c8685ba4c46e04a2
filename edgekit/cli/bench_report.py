"""Tables for ``edgekit bench`` and ``edgekit results``: comparison, per-op profile, history, run vs run."""

from __future__ import annotations

from rich.table import Table

from edgekit.cli._common import console, human, human_bytes


def _f(v, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _label(r: dict) -> str:
    threads = "gpu" if r["target"] == "gpu" else f"{r['threads']}t"
    return f"{threads}{'' if r.get('xnnpack', True) else ' no-xnnpack'}"


def print_table(results: list[dict]) -> None:
    """One row per result; ``x first`` is each p50 over the first measured row's. A failed result is a row
    marked "failed", its error printed under the table."""
    done = [r for r in results if "error" not in r]
    ref = done[0]["latency_ms"]["p50"] if done else None
    head = done[0] if done else results[0]
    runtime = f" ({head['backend']} {head['backend_version']})" if done else ""
    table = Table(title=f"edgekit bench on {head['device']['cpu']}{runtime}")
    for col in ("model", "quant", "config", "p50 ms", "p90 ms", "CV", "first ms", "init ms", "peak RSS", "size",
                "GMAC/s", "x first"):
        table.add_column(col, justify="left" if col in ("model", "quant", "config") else "right")
    for r in results:
        if "error" in r:
            table.add_row(r["model"], r["quant"] or "-", _label(r), "failed", *["-"] * 8)
            continue
        lat = r["latency_ms"]
        table.add_row(r["model"], r["quant"], _label(r), _f(lat["p50"]), _f(lat["p90"]), f"{r['cv']:.0%}",
                      _f(r["first_ms"]), _f(r["init_ms"], 1), f"{r['peak_rss_mb']:.0f} MB",
                      human_bytes(r["size_bytes"]), _f(r["gmacs_per_s"]), f"{lat['p50'] / ref:.2f}")
    out = console()
    out.print(table)
    out.print("mean, std, p99, throughput and the RSS increase over the pre-load baseline: see --json", style="dim")
    print_failures(results)
    for r in results:
        if "baseline" in r:
            b = r["baseline"]
            text = b.get("skipped") or f"{b['framework']}: p50 {b['latency_ms']['p50']:.2f} ms"
            out.print(f"Keras baseline for {r['model']}: {text}", markup=False)
        if r.get("fully_accelerated") is False:
            out.print(f"{r['model']} {r['quant']}: some ops fell back to the CPU", markup=False)


def print_failures(results: list[dict]) -> None:
    """Under a table: each failed result with its error, one line each."""
    out = console()
    for r in results:
        if "error" in r:
            what = " ".join(str(x) for x in (r["model"], r["quant"], r.get("threads") and f"threads={r['threads']}")
                            if x)
            out.print(f"failed: {what}: {r['error']}", markup=False, soft_wrap=True)


def print_ops(results: list[dict]) -> None:
    out = console()
    for r in results:
        if "error" in r:
            continue
        ops = r.get("ops") or []
        table = Table(title=f"per op: {r['model']} {r['quant']} {_label(r)}")
        for col in ("#", "op", "output", "MACs", "ms", "% time", "GMAC/s"):
            table.add_column(col, justify="left" if col in ("op", "output") else "right")
        total = sum(o["ms"] or 0 for o in ops) or 1.0
        for o in ops:
            rate = o["macs"] / o["ms"] / 1e6 if o["ms"] and o["macs"] else None
            table.add_row(str(o["index"]), o["op"], o["name"], human(o["macs"]) if o["macs"] else "",
                          _f(o["ms"], 3) if o["ms"] is not None else o.get("error", "failed"),
                          f"{100 * (o['ms'] or 0) / total:.1f}", _f(rate))
        out.print(table)
        out.print(f"sum of ops {total:.2f} ms vs whole model p50 {r['latency_ms']['p50']:.2f} ms; "
                  f"{r.get('ops_method')}", markup=False, soft_wrap=True)
        if r.get("delegate_nodes"):
            out.print(f"note: XNNPACK fused the model's ops into {r['delegate_nodes']} delegate node(s), so the "
                      "runtime sees no per-op boundaries; rerun with --no-xnnpack for the builtin kernels op by op",
                      markup=False, soft_wrap=True)


def print_history(rows: list[dict]) -> None:
    table = Table(title="benchmark history")
    for col in ("id", "run", "time (UTC)", "target", "model", "quant", "config", "p50 ms", "peak RSS", "commit"):
        table.add_column(col, justify="right" if col in ("id", "p50 ms", "peak RSS") else "left")
    for r in rows:
        table.add_row(str(r["id"]), r["run_id"], r["time_utc"], r["target"], r["model"], r["quant"] or "-",
                      _label(r), _p50(r), _f(r.get("peak_rss_mb"), 0) + (" MB" if "error" not in r else ""),
                      r.get("commit") or "-")
    console().print(table)


def _measured(rows: list[dict]) -> list[dict]:
    """The rows with a latency; none (every selected result failed) is a UsageError naming the failure."""
    done = [r for r in rows if "error" not in r]
    if rows and not done:
        from edgekit.errors import UsageError

        r = rows[0]
        raise UsageError(f"result {r['id']} ({r['model']}) failed, so it has no latency to compare: {r['error']}")
    return done


def _p50(r: dict) -> str:
    return "failed" if "error" in r else _f(r["latency_ms"]["p50"])


def _key(r: dict) -> tuple:
    return (r["model"], r["quant"], r["target"], r["threads"], r.get("xnnpack", True))


def compare_rows(a: list[dict], b: list[dict]) -> list[dict]:
    """Pairs by config (two single results are compared whatever their configs); ratio is B p50 / A p50.
    Failed results have no latency and are left out."""
    a, b = _measured(a), _measured(b)
    if len(a) == 1 and len(b) == 1:
        pairs = [(a[0], b[0])]
    else:
        by_key = {_key(r): r for r in b}
        pairs = [(r, by_key[_key(r)]) for r in a if _key(r) in by_key]
    return [{"model": x["model"], "quant": x["quant"], "target": x["target"], "threads": x["threads"],
             "xnnpack": x.get("xnnpack", True), "a_id": x["id"], "b_id": y["id"],
             "a_p50_ms": x["latency_ms"]["p50"], "b_p50_ms": y["latency_ms"]["p50"],
             "ratio": round(y["latency_ms"]["p50"] / x["latency_ms"]["p50"], 4)} for x, y in pairs]


def print_compare(rows: list[dict], a: str, b: str) -> None:
    from edgekit.errors import UsageError

    if not rows:
        raise UsageError(f"runs {a} and {b} share no configuration (model, quant, target, threads, XNNPACK)")
    table = Table(title=f"{b} vs {a}: p50 latency ratio (< 1 means B is faster)")
    for col in ("model", "quant", "config", "A p50 ms", "B p50 ms", "B / A"):
        table.add_column(col, justify="left" if col in ("model", "quant", "config") else "right")
    for r in rows:
        table.add_row(r["model"], r["quant"], _label(r), _f(r["a_p50_ms"]), _f(r["b_p50_ms"]), f"{r['ratio']:.3f}")
    console().print(table)
