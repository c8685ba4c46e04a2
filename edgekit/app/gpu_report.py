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
from edgekit.energy import KEYS as ENERGY_KEYS
from edgekit.energy import EnergyFigure, energy_text
from edgekit.result import error_of

PACKAGES = ("ai-edge-litert", "keras", "jax", "jaxlib", "torch", "torchvision", "tensorflow", "tensorflow-cpu",
            "numpy")


def _versions() -> dict:
    found = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _runtime(source: str, doc: dict) -> str:
    if source.startswith("keras-"):
        return f"Keras on {doc['keras_backend']} {doc['backend_version']} ({doc.get('execution', 'compiled')})"
    if source.startswith("torchvision-"):
        return f"torchvision {doc['torchvision_version']} on torch {doc['backend_version']} (eager)"
    where = "GPU accelerator" if doc["target"] == "gpu" else "CPU"
    return f"LiteRT {doc.get('backend_version', '')} {where}".replace("  ", " ")


def _row(source: str, doc: dict) -> dict:
    """One table row from a bench result (``litert-*``), a Keras baseline (``keras-*``) or the torchvision peer
    (``torchvision-*``). A LiteRT GPU row on a software adapter is ``emulated``: never a GPU's speed."""
    litert = source.startswith("litert-")
    model, _, quant = doc["model"].rpartition("_") if litert else (doc["model"], "", "fp32")
    adapter = (doc.get("gpu_adapter") or {}).get("name")
    device = doc["device_name"] if not litert else (adapter or doc["target"]) if doc["target"] == "gpu" else "cpu"
    lat = doc["latency_ms"]
    return {"model": model or doc["model"], "quant": quant or doc.get("quant"), "runtime": _runtime(source, doc),
            "device": device, "threads": doc.get("threads"), "p50_ms": lat["p50"], "ci95_ms": lat.get("ci95"),
            "p90_ms": lat["p90"], "iqr_ms": lat["iqr"], "runs": doc["runs"],
            # the spread between rounds (edgekit bench), or within one run of calls (a baseline or the peer)
            "round_cv": doc.get("cv") if litert else None, "call_cv": None if litert else doc.get("call_cv"),
            "noisy": bool(doc.get("noisy")),
            "rounds": doc.get("rounds", 1), "first_ms": doc.get("first_ms"), "init_ms": doc.get("init_ms"),
            "fully_accelerated": doc.get("fully_accelerated"), "sync": doc.get("sync"),
            "execution": doc.get("execution"), "emulated": bool(doc.get("emulated")), "source": source,
            **{k: v for k, v in doc.items() if k in ENERGY_KEYS}}  # NVML (or RAPL) beside the timed loop


def _docs(text: str) -> list | None:
    """The documents in a step's JSON file: one object, a list (``edgekit bench --json``) or JSON lines."""
    try:
        doc = json.loads(text)
        return doc if isinstance(doc, list) else [doc]
    except ValueError:
        try:
            return [json.loads(line) for line in text.splitlines() if line.strip()] or None
        except ValueError:
            return None


def _load(json_dir: Path) -> tuple[list[dict], list[dict], dict]:
    rows, failures, raw = [], [], {}
    for path in sorted(json_dir.glob("*.json")):
        source = path.stem.split("_", 1)[0]
        err = path.with_suffix(".json.err")
        docs = _docs(path.read_text())
        if not docs:
            lines = [ln for ln in (err.read_text().splitlines() if err.exists() else []) if ln.strip()]
            failures.append({"step": path.stem, "reason": lines[-1] if lines else "no output"})
            continue
        raw[path.stem] = docs if len(docs) > 1 or path.read_text().lstrip().startswith("[") else docs[0]
        for doc in docs:
            failure = error_of(doc)
            if failure is not None:
                where = path.stem if len(docs) == 1 else f"{path.stem} {doc.get('model', '')}".strip()
                failures.append({"step": where, "reason": failure.error})
            else:
                rows.append(_row(source, doc))
    rows.sort(key=lambda r: (r["model"], r["quant"] or "", r["source"], r["threads"] or 0))
    return rows, failures, raw


def _gpu(path: Path | None) -> dict:
    text = path.read_text().strip() if path and path.exists() else ""
    parts = [p.strip() for p in text.splitlines()[0].split(",")] if text else []
    if len(parts) != 3:
        return {"name": None, "driver": None, "note": text or "not read"}
    return {"name": parts[0], "driver": parts[1], "memory": parts[2]}


def _steps(path: Path | None) -> list[dict]:
    """steps.tsv: ``NAME<TAB>EXIT[<TAB>SECONDS[<TAB>REASON]]`` per step, as scripts/gpu_check.sh writes it."""
    if not path or not path.exists():
        return []
    steps = []
    for line in path.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        step = {"step": parts[0], "exit": int(parts[1])}
        if len(parts) > 2 and parts[2]:
            step["seconds"] = float(parts[2])
        if len(parts) > 3 and parts[3]:
            step["reason"] = parts[3]
        steps.append(step)
    return steps


def build(json_dir: Path, *, gpu_file: Path | None, steps_file: Path | None, cpu_only: bool) -> dict:
    """The whole record: GPU and host, versions, rows, failures, steps, and the raw documents."""
    rows, failures, raw = _load(json_dir)
    steps = _steps(steps_file)
    why = {st["step"]: st["reason"] for st in steps if st.get("reason")}  # a timeout says more than its last line
    failures = [{**f, "reason": why[f["step"]]} if f["step"] in why else f for f in failures]
    return {**provenance(), "cpu_only": cpu_only, "gpu": _gpu(gpu_file), "versions": _versions(),
            "gpu_rows": sum(r["source"].endswith("-gpu") and not r["emulated"] for r in rows),
            "emulated_rows": sum(r["emulated"] for r in rows),
            "rows": rows, "failures": failures, "steps": steps, "raw": raw}


def _interval(r: dict) -> str:
    ci = r.get("ci95_ms")
    return f"{ci[0]:.3f}–{ci[1]:.3f} ({r['rounds']} rounds)" if ci else f"one process, IQR {r['iqr_ms']:.3f}"


def _device(r: dict) -> str:
    if r["emulated"]:
        return f"{r['device']} (emulated: the CPU's speed, not a GPU's)"
    return r["device"]


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
    if doc.get("emulated_rows"):
        head += ["", "**Rows marked emulated ran LiteRT's GPU accelerator on a software Vulkan driver (the CPU): "
                 "they check the code path, never a GPU's speed.**"]
    table = ["", "Batch 1, random weights; p50 and p90 in ms, with the 95% interval of p50 over rounds (fresh "
             "processes) where there are rounds, else the IQR; "
             f"'noisy' where the p50's 95% interval is wider than ±{REL_HALFWIDTH:.0%} (edgekit bench: between "
             "rounds; a baseline: between the calls of its one run). LiteRT GPU calls read their outputs back "
             "(sync: readback); eager rows measure the framework's per-op overhead as much as the GPU.", "",
             "| model | quant | runtime | device | threads | p50 (ms) | 95% interval (ms) | p90 (ms) | runs | "
             "energy (mJ) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in doc["rows"]:
        noisy = " noisy" if r["noisy"] else ""
        table.append(f"| {r['model']} | {r['quant']} | {r['runtime']} | {_device(r)} | {r['threads'] or '-'} | "
                     f"{r['p50_ms']:.3f}{noisy} | {_interval(r)} | {r['p90_ms']:.3f} | {r['runs']} | "
                     f"{energy_text(EnergyFigure.from_dict(r))} |")
    notes = sorted({f"{fig.source}: {fig.note}" for fig in map(EnergyFigure.from_dict, doc["rows"])
                    if fig is not None and fig.mj is None and fig.note})
    table += ["", "Energy per inference above idle, from the sensor read beside each timed loop (NVML on the GPU: "
              "the whole board; docs/energy.md)."] + [f"- no energy figure: {n}" for n in notes]
    fails = ["", "## Failed steps", ""] + [f"- {f['step']}: {f['reason']}" for f in doc["failures"]]
    failed = {f["step"] for f in doc["failures"]}
    steps = [s for s in doc["steps"] if s["exit"] and s["step"] not in failed]
    fails += [f"- {s['step']}: {s.get('reason') or 'exit {} (see its log)'.format(s['exit'])}" for s in steps]
    timed = [s for s in doc["steps"] if "seconds" in s]
    times = (["", "## Step times", "", "| step | exit | seconds |", "|---|---|---|"]
             + [f"| {s['step']} | {s['exit']} | {s['seconds']:.1f} |" for s in timed]) if timed else []
    return "\n".join(head + table + (fails if len(fails) > 3 else ["", "Every step passed."]) + times) + "\n"


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
