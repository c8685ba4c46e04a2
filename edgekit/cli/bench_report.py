"""Tables for ``edgekit bench`` and ``edgekit results``: comparison, per-op profile, history, run vs run."""

from __future__ import annotations

from bench.compare import FEW_ROUNDS_NOTE, too_few_rounds
from bench.protocol import REL_HALFWIDTH
from edgekit.cli._common import console, human, human_bytes
from edgekit.cli._table import FitTable, col
from edgekit.result import Result


def _f(v, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _ms(v) -> str:
    """A latency readable at any scale: 0.00164, 4.34, 909.7."""
    return "-" if v is None else f"{v:.3g}" if v < 100 else f"{v:.1f}"


def _label(r: Result) -> str:
    return _config(r.target, r.threads, r.xnnpack is not False, emulated=bool(r.extra.get("emulated")))


def _config(target: str, threads: int | None, xnnpack: bool, *, emulated: bool = False) -> str:
    """"1t", "4t no-xnnpack", "gpu (emulated)": the config column."""
    where = ("gpu (emulated)" if emulated else "gpu") if target == "gpu" else f"{threads}t"
    return f"{where}{'' if xnnpack else ' no-xnnpack'}"


def print_table(results: list[Result], *, wide: bool = False) -> None:
    """One row per result; ``x first`` is each p50 over the first measured row's. A failed result is a row
    marked "failed", its error printed under the table."""
    done = [r for r in results if not r.failed]
    ref = done[0].p50_ms if done else None
    head = done[0] if done else results[0]
    version = head.extra.get("backend_version") or ""
    runtime = f" ({head.figures.backend} {version})".replace(" )", ")") if done else ""
    d = head.extra.get("device") or {}
    where = d.get("cpu") or (f"{d['phone']} ({d['soc']})" if d.get("phone") else head.extra.get("host") or "-")
    table = FitTable(f"edgekit bench on {where}{runtime}", [
        col("model", names=True), col("quant", 9), col("config", 8), col("p50 ms", 10, right=True),
        col("95% interval", 7, right=True), col("rounds", 4, right=True), col("p90 ms", 2, right=True),
        col("first ms", 1, right=True), col("init ms", 1, right=True), col("peak RSS", 3, right=True),
        col("size", 3, right=True), col("GMAC/s", 2, right=True), col("energy mJ", 5, right=True),
        col("x first", 6, right=True)])
    for r in results:
        if r.failed:
            table.add_row(r.model, r.quant or "-", _label(r), "failed", *["-"] * 10)
            continue
        fig = r.figures
        rounds = r.rounds.rounds if r.rounds is not None and r.rounds.rounds is not None else 1
        table.add_row(r.model, r.quant, _label(r), p50_text(r), interval_text(r), str(rounds),
                      _ms(fig.latency_ms.p90), _f(fig.first_ms), _f(fig.init_ms, 1), _mb(fig.peak_rss_mb),
                      human_bytes(fig.size_bytes), _f(fig.gmacs_per_s), energy_cell(r), f"{r.p50_ms / ref:.2f}",
                      style="yellow" if r.noisy else None)
    out = console()
    table.print(out, wide=wide)
    out.print("p50: the median of the rounds' medians, with its 95% interval (docs/measuring.md); NOISY: the "
              f"interval stayed wider than ±{REL_HALFWIDTH:.0%} of p50. mean, std, p99, throughput, RSS increase: "
              "see --json", style="dim")
    if any(too_few_rounds(r) for r in done):
        out.print(FEW_ROUNDS_NOTE, style="dim", markup=False)
    print_energy_notes(results)
    print_failures(results)
    for r in results:
        if "baseline" in r.extra:
            b = r.extra["baseline"]
            text = b.get("skipped") or f"{b['framework']}: p50 {b['latency_ms']['p50']:.2f} ms"
            out.print(f"Keras baseline for {r.model}: {text}", markup=False)
        if r.extra.get("fully_accelerated") is False:
            out.print(f"{r.model} {r.quant}: some ops fell back to the CPU", markup=False)


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} MB"


def energy_cell(r: Result) -> str:
    """Energy per inference: measured with its 95% interval, or "est." with its expected error, or "-"."""
    from edgekit.energy import energy_text

    return energy_text(r.energy)


def print_energy_notes(results: list[Result]) -> None:
    """Under a table: where the energy figures come from and what they cover (once each), or why there are none."""
    lines = []
    for r in results:
        fig = r.energy
        if fig is None:
            continue
        if fig.mj is None:
            lines.append(f"energy: none: {fig.note}")
            continue
        how = "measured" if fig.measured else f"estimated (±{fig.expected_error_pct}%, docs/energy.md)"
        extra = f"; {fig.note}" if fig.note else ""
        lines.append(f"energy per inference above idle, {how}: {fig.source}; covers {fig.covers}{extra}")
    out = console()
    for line in dict.fromkeys(lines):
        out.print(line, markup=False, soft_wrap=True, style="dim")


def print_failures(results: list[Result]) -> None:
    """Under a table: each failed result with its error, one line each."""
    out = console()
    for r in results:
        if r.failed:
            what = " ".join(str(x) for x in (r.model, r.quant, r.threads and f"threads={r.threads}")
                            if x)  # no threads (the GPU): left out, never "None"
            out.print(f"failed: {what}: {r.failure.error}", markup=False, soft_wrap=True)


def p50_text(r: Result) -> str:
    """p50, with a NOISY mark when its interval stayed wide, or "N rounds, no interval" when it has none."""
    from bench.compare import noisy_mark

    mark = noisy_mark(r, short=r.rounds is not None and r.rounds.rounds is not None)  # a rounds column says
    return _ms(r.p50_ms) + (f" {mark}" if mark else "")


def interval_text(r: Result) -> str:
    ci = r.figures.latency_ms.ci95
    return "-" if not ci else f"{_ms(ci[0])}–{_ms(ci[1])}"


def print_ops(results: list[Result], *, wide: bool = False) -> None:
    out = console()
    for r in results:
        if r.failed:
            continue
        ops = r.extra.get("ops") or []
        table = FitTable(f"per op: {r.model} {r.quant} {_label(r)}", [
            col("#", 6, right=True), col("op", names=True), col("output", 2, fold=True),
            col("MACs", 5, right=True), col("ms", 9, right=True), col("% time", 8, right=True),
            col("GMAC/s", 3, right=True)])
        total = sum(o["ms"] or 0 for o in ops) or 1.0
        for o in ops:
            rate = o["macs"] / o["ms"] / 1e6 if o["ms"] and o["macs"] else None
            table.add_row(str(o["index"]), o["op"], o["name"], human(o["macs"]) if o["macs"] else "",
                          _f(o["ms"], 3) if o["ms"] is not None else o.get("error", "failed"),
                          f"{100 * (o['ms'] or 0) / total:.1f}", _f(rate))
        table.print(out, wide=wide)
        out.print(f"sum of ops {total:.2f} ms vs whole model p50 {r.p50_ms:.2f} ms; "
                  f"{r.extra.get('ops_method')}", markup=False, soft_wrap=True)
        if r.extra.get("delegate_nodes"):
            out.print(f"note: XNNPACK fused the model's ops into {r.extra['delegate_nodes']} delegate node(s), so the "
                      "runtime sees no per-op boundaries; rerun with --no-xnnpack for the builtin kernels op by op",
                      markup=False, soft_wrap=True)


def print_history(rows: list[Result], *, wide: bool = False) -> None:
    table = FitTable("benchmark history", [
        col("id", right=True, names=True), col("run", names=True), col("time (UTC)", 2), col("target", 8),
        col("model", names=True), col("quant", 9), col("config", 6), col("p50 ms", 10, right=True),
        col("peak RSS", 3, right=True), col("energy mJ", 4, right=True), col("commit", 1)])
    for r in rows:
        rss = r.figures.peak_rss_mb if r.figures is not None else None
        table.add_row(str(r.extra["id"]), r.extra["run_id"], r.extra["time_utc"], r.target, r.model, r.quant or "-",
                      _label(r), _p50(r), _f(rss, 0) + (" MB" if not r.failed else ""),
                      energy_cell(r), r.extra.get("commit") or "-")
    out = console()
    table.print(out, wide=wide)
    if any(r.energy is not None and r.energy.mj is not None for r in rows):
        out.print("energy mJ: per inference above idle; measured with its 95% interval, or 'est.' with its "
                  "expected error (docs/energy.md); sources: --json", style="dim")


def _measured(rows: list[Result]) -> list[Result]:
    """The rows with a latency; none (every selected result failed) is a UsageError naming the failure."""
    done = [r for r in rows if not r.failed]
    if rows and not done:
        from edgekit.errors import UsageError

        r = rows[0]
        raise UsageError(f"result {r.extra['id']} ({r.model}) failed, so it has no latency to compare: "
                         f"{r.failure.error}")
    return done


def _p50(r: Result) -> str:
    return "failed" if r.failed else p50_text(r)


def _xnnpack(r: Result) -> bool:
    return True if r.xnnpack is None else r.xnnpack  # a result stored before the flag: XNNPACK, the default


def _key(r: Result) -> tuple:
    return (r.model, r.quant, r.target, r.threads, _xnnpack(r))


def compare_rows(a: list[Result], b: list[Result]) -> list[dict]:
    """Pairs by config (two single results are compared whatever their configs, but of one model); ``ratio``
    is B's latency over A's with its 95% interval (``bench.compare.ratio``) and ``verdict`` says it in words.
    Failed results have no latency and are left out."""
    from edgekit.errors import UsageError

    a, b = _measured(a), _measured(b)
    if len(a) == 1 and len(b) == 1:
        if a[0].model != b[0].model:
            raise UsageError(f"result {a[0].extra['id']} is {a[0].model} and result {b[0].extra['id']} is "
                             f"{b[0].model}: compare results of one model (e.g. its fp32 and int8 runs)")
        pairs = [(a[0], b[0])]
    else:
        by_key = {_key(r): r for r in b}
        pairs = [(r, by_key[_key(r)]) for r in a if _key(r) in by_key]
    return [_compare_row(x, y) for x, y in pairs]


def _name(r: Result) -> str:
    return f"#{r.extra['id']} {r.model} {r.quant} {_label(r)}"


def _compare_row(x: Result, y: Result) -> dict:
    """One config's comparison: its own document (``edgekit results compare --json``)."""
    from bench.compare import result_ratio, speed_words

    row = {"model": x.model, "quant": x.quant, "target": x.target, "threads": x.threads,
           "xnnpack": _xnnpack(x), "a_id": x.extra["id"], "b_id": y.extra["id"], "b_quant": y.quant,
           "a_p50_ms": x.p50_ms, "b_p50_ms": y.p50_ms}
    found = result_ratio(x, y)
    if found is None:  # one round, or stored before edgekit measured in rounds
        r = y.p50_ms / x.p50_ms
        return {**row, "ratio": round(r, 4), "ratio_ci95": None, "method": None,
                "verdict": f"B/A latency {r:.3f}, no interval: a result has fewer than 2 rounds (--rounds 6 or more)"}
    r, lo, hi, method = found
    words = speed_words(f"B ({_name(y)})", f"A ({_name(x)})", (1 / r, 1 / hi, 1 / lo))
    return {**row, "ratio": round(r, 4), "ratio_ci95": [round(lo, 4), round(hi, 4)],
            "method": method, "verdict": words}


def print_compare(rows: list[dict], a: str, b: str, *, wide: bool = False) -> None:
    from edgekit.errors import UsageError

    if not rows:
        raise UsageError(f"runs {a} and {b} share no configuration (model, quant, target, threads, XNNPACK)")
    table = FitTable(f"{b} vs {a}: p50 latency ratio with its 95% interval (< 1 means B is faster)", [
        col("model", names=True), col("quant", 9), col("config", 8), col("A p50 ms", 5, right=True),
        col("B p50 ms", 5, right=True), col("B / A", 10, right=True), col("95% interval", 7, right=True)])
    for r in rows:
        ci = r["ratio_ci95"]
        table.add_row(r["model"], r["quant"], _config(r["target"], r["threads"], r["xnnpack"]), _ms(r["a_p50_ms"]),
                      _ms(r["b_p50_ms"]), f"{r['ratio']:.3f}", "-" if ci is None else f"{ci[0]:.3f}–{ci[1]:.3f}")
    out = console()
    table.print(out, wide=wide)
    for r in rows:
        out.print(r["verdict"], markup=False, soft_wrap=True)
