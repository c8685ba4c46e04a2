"""How ``edgekit bench --host`` shows its results: one host prints the same JSON list a local run does; several
print ``{"results", "aggregate", "failures"}``: each device, then the median across devices per configuration.
The measuring is ``edgekit.app.remote``.
"""

from __future__ import annotations

from edgekit.cli._common import console, emit_json, err_console, warn
from edgekit.result import Result


def render_remote(outcome, json: bool, *, wide: bool = False) -> None:
    """Print what the hosts measured, say where it was saved, then raise what failed."""
    fleet, results = outcome.remote, outcome.results
    if fleet.hosts == 1:
        _print_one(results, json, wide)
    else:
        _print_fleet(fleet, results, json, wide)
    for line in dict.fromkeys(w for r in results for w in r.warnings):
        warn(line)
    saved = sum(r.extra.get("id") is not None for r in results)  # the others are in the recovery file
    if saved:
        err_console.print(f"saved {saved} result(s) to {outcome.store_path} as run {outcome.run_id}",
                          markup=False, soft_wrap=True)
    fleet.raise_failures(warn)


def _print_one(results: list[Result], json: bool, wide: bool) -> None:
    if json:
        emit_json([r.to_dict() for r in results])
    elif results:
        _device_table(results, wide)


def _device_table(results: list[Result], wide: bool) -> None:
    from edgekit.cli.bench_report import print_table

    first = next((r for r in results if not r.failed), results[0])
    d = first.extra.get("device") or {}
    if "phone" in d:  # a phone over adb (targets.android_result)
        what = (f"{d['phone']} ({d['soc']}, {first.extra.get('execution_context')}, "
                f"taskset {first.extra.get('taskset_mask')})")
    elif "cpu" in d:
        temp = f", {d['cpu_temp_c']:g} °C" if d.get("cpu_temp_c") is not None else ""
        what = f"{d.get('board') or d['cpu']} ({d['cpu']}, {d['os']}{temp})"
    else:
        what = "nothing measured"
    console().print(f"{first.extra['host']}: {what}", markup=False, soft_wrap=True)
    print_table(results, wide=wide)


def _print_fleet(fleet, results: list[Result], json: bool, wide: bool) -> None:
    from targets.fleet import aggregate

    rows = aggregate([r for r in results if not r.failed])
    if json:
        emit_json({"results": [r.to_dict() for r in results], "aggregate": rows, "failures": fleet.failure_rows()})
        return
    for _, kept in fleet.pairs:
        if kept:
            _device_table(kept, wide)
    if rows:
        _aggregate_table(rows, wide)


def _aggregate_table(rows: list[dict], wide: bool) -> None:
    from edgekit.cli._table import FitTable, col

    table = FitTable("across devices (p50 latency)", [
        col("model", names=True), col("quant", 9), col("threads", 7, right=True), col("devices", 6, right=True),
        col("median ms", 10, right=True), col("min ms", 4, right=True), col("max ms", 4, right=True),
        col("spread", 5, right=True)])
    for r in rows:
        table.add_row(r["model"], r["quant"], str(r["threads"]), str(r["devices"]), f"{r['median_p50_ms']:.3f}",
                      f"{r['min_p50_ms']:.3f}", f"{r['max_p50_ms']:.3f}",
                      "-" if r["spread"] is None else f"{r['spread']:.0%}")
    table.print(console(), wide=wide)
