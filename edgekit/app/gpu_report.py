"""results.json and report.md for scripts/gpu_check.sh: LiteRT on the GPU, the Keras baseline and LiteRT on
the CPU, one table, with every failed step and its one-line reason.

    python -m edgekit.app.gpu_report JSON_DIR OUT_DIR --gpu gpu.txt --steps steps.tsv [--cpu-only]

JSON_DIR holds ``KIND_STEM.json`` files (and ``.json.err`` beside them): ``litert-gpu_vgg16_fp32.json``
(``edgekit bench --json``), ``keras-jax-gpu_vgg16.json`` (``python -m edgekit.app.gpu_baseline``).
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata
from pathlib import Path

from bench.protocol import REL_HALFWIDTH
from bench.provenance import provenance
from edgekit.atomic import write_atomic

PACKAGES = ("ai-edge-litert", "keras", "jax", "jaxlib", "torch", "tensorflow", "tensorflow-cpu", "numpy")


def _versions() -> dict:
    found = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _row(kind: str, doc: dict) -> dict:
    """One table row from a bench result (``litert-*``) or a baseline (``keras-*``)."""
    keras = kind.startswith("keras-")
    model, _, quant = doc["model"].rpartition("_") if not keras else (doc["model"], "", "fp32")
    runtime = (f"Keras on {doc['keras_backend']} {doc['backend_version']}" if keras
               else f"LiteRT {doc.get('backend_version', '')} {'GPU accelerator' if doc['target'] == 'gpu' else 'CPU'}")
    lat = doc["latency_ms"]
    return {"model": model or doc["model"], "quant": quant or doc.get("quant"), "runtime": runtime.strip(),
            "device": doc["device_name"] if keras else doc["target"], "threads": doc.get("threads"),
            "p50_ms": lat["p50"], "p90_ms": lat["p90"], "iqr_ms": lat["iqr"], "runs": doc["runs"],
            # the spread within one run of calls (the Keras baseline), or between rounds (edgekit bench)
            "call_cv": doc.get("call_cv"), "round_cv": doc.get("cv") if not keras else None, "noisy": doc.get("noisy"),
            "first_ms": doc.get("first_ms"), "fully_accelerated": doc.get("fully_accelerated"), "source": kind}


def _load(json_dir: Path) -> tuple[list[dict], list[dict], dict]:
    rows, failures, raw = [], [], {}
    for path in sorted(json_dir.glob("*.json")):
        kind = path.stem.split("_", 1)[0]
        err = path.with_suffix(".json.err")
        try:
            doc = json.loads(path.read_text())
        except ValueError:
            doc = None
        if doc is None or (isinstance(doc, dict) and "error" in doc):
            lines = [ln for ln in (err.read_text().splitlines() if err.exists() else []) if ln.strip()]
            reason = doc["error"] if doc else (lines[-1] if lines else "no output")
            failures.append({"step": path.stem, "reason": reason})
            continue
        raw[path.stem] = doc
        rows += [_row(kind, d) for d in (doc if isinstance(doc, list) else [doc])]
    rows.sort(key=lambda r: (r["model"], r["quant"] or "", r["source"], r["threads"] or 0))
    return rows, failures, raw


def _gpu(path: Path | None) -> dict:
    text = path.read_text().strip() if path and path.exists() else ""
    parts = [p.strip() for p in text.splitlines()[0].split(",")] if text else []
    if len(parts) != 3:
        return {"name": None, "driver": None, "note": text or "not read"}
    return {"name": parts[0], "driver": parts[1], "memory": parts[2]}


def _steps(path: Path | None) -> list[dict]:
    if not path or not path.exists():
        return []
    return [{"step": name, "exit": int(code)} for name, code in
            (line.split("\t") for line in path.read_text().splitlines() if "\t" in line)]


def build(json_dir: Path, *, gpu_file: Path | None, steps_file: Path | None, cpu_only: bool) -> dict:
    """The whole record: GPU and host, versions, rows, failures, steps, and the raw documents."""
    rows, failures, raw = _load(json_dir)
    return {**provenance(), "cpu_only": cpu_only, "gpu": _gpu(gpu_file), "versions": _versions(),
            "gpu_rows": sum(r["source"].endswith("-gpu") for r in rows),
            "rows": rows, "failures": failures, "steps": _steps(steps_file), "raw": raw}


def render(doc: dict) -> str:
    """A short Markdown report of ``build``'s record."""
    gpu = doc["gpu"]
    head = [f"# GPU check, {doc['time_utc']}", "",
            f"- GPU: {gpu.get('name') or gpu.get('note')}" + (f", driver {gpu['driver']}, {gpu['memory']}"
                                                             if gpu.get("driver") else ""),
            f"- host CPU: {doc['device']['cpu']} ({doc['device']['cores']} cores), Python {doc['versions']['python']}",
            "- versions: " + ", ".join(f"{k} {v}" for k, v in doc["versions"].items() if k != "python"),
            f"- edgekit {doc['edgekit']}, commit {doc['commit'] or 'unknown (no git checkout)'}"]
    if doc["cpu_only"]:
        head += ["", "**CPU-only run (--cpu-only): no GPU was used; this checks the script, not the GPU.**"]
    table = ["", "Batch 1, random weights; p50 and p90 in ms, IQR the spread between p25 and p75; "
             f"'noisy' where the p50's 95% interval is wider than ±{REL_HALFWIDTH:.0%} (edgekit bench: between "
             "rounds; the Keras baseline: between the calls of its one run).", "",
             "| model | quant | runtime | device | threads | p50 (ms) | p90 (ms) | IQR (ms) | runs |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in doc["rows"]:
        noisy = " noisy" if r["noisy"] else ""
        table.append(f"| {r['model']} | {r['quant']} | {r['runtime']} | {r['device']} | {r['threads'] or '-'} | "
                     f"{r['p50_ms']:.3f}{noisy} | {r['p90_ms']:.3f} | {r['iqr_ms']:.3f} | {r['runs']} |")
    fails = ["", "## Failed steps", ""] + [f"- {f['step']}: {f['reason']}" for f in doc["failures"]]
    steps = [s for s in doc["steps"] if s["exit"] and s["step"] not in {f["step"] for f in doc["failures"]}]
    fails += [f"- {s['step']}: exit {s['exit']} (see its log)" for s in steps]
    return "\n".join(head + table + (fails if len(fails) > 3 else ["", "Every step passed."])) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgekit.app.gpu_report", description=__doc__.splitlines()[0])
    parser.add_argument("json_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--gpu", type=Path)
    parser.add_argument("--steps", type=Path)
    parser.add_argument("--cpu-only", action="store_true")
    args = parser.parse_args(argv)
    doc = build(args.json_dir, gpu_file=args.gpu, steps_file=args.steps, cpu_only=args.cpu_only)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out_dir / "results.json", (json.dumps(doc, indent=1) + "\n").encode(), force=True)
    write_atomic(args.out_dir / "report.md", render(doc).encode(), force=True)
    print(f"{len(doc['rows'])} rows, {len(doc['failures'])} failures -> {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
