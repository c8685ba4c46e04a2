#!/usr/bin/env python3
"""Compare a study's results.json with a reference one (the README's example, docs/study-example/results.json).

    python scripts/compare_study.py NEW/results.json [REFERENCE/results.json]

Same rows (target, model, quantization); the same converted file sizes and MACs; each measured latency's median
within the reference's 95% interval or the two intervals overlapping, unless either is marked noisy; estimated
rows equal. Prints one line per row that differs and a summary; exits 1 when any row differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "study-example" / "results.json"


def _rows(path: Path) -> dict[tuple, dict]:
    return {(r["target"], r["model"], r["quant"]): r for r in json.loads(path.read_text())["rows"]}


def _latency_agrees(new: dict, ref: dict) -> str | None:
    if new.get("noisy") or ref.get("noisy"):
        return None
    (lo, hi), (nlo, nhi) = ref["latency_ms"]["ci95"], new["latency_ms"]["ci95"]
    median = new["latency_ms"]["p50"]
    if lo <= median <= hi or (nlo <= hi and lo <= nhi):
        return None
    return f"latency {median:.4g} ms [{nlo:.4g}, {nhi:.4g}] outside the reference's [{lo:.4g}, {hi:.4g}]"


def compare(new_path: Path, ref_path: Path) -> list[str]:
    new, ref = _rows(new_path), _rows(ref_path)
    problems = [f"{' '.join(k)}: only in the reference" for k in ref if k not in new]
    problems += [f"{' '.join(k)}: not in the reference" for k in new if k not in ref]
    for key in sorted(set(new) & set(ref)):
        a, b = new[key], ref[key]
        for field in ("size_bytes", "macs", "measured"):
            if a.get(field) != b.get(field):
                problems.append(f"{' '.join(key)}: {field} {a.get(field)} vs {b.get(field)}")
        if a.get("measured") and b.get("measured"):
            why = _latency_agrees(a, b)
            if why:
                problems.append(f"{' '.join(key)}: {why}")
        elif a.get("latency_ms", {}).get("p50") != b.get("latency_ms", {}).get("p50"):
            problems.append(f"{' '.join(key)}: estimate {a.get('latency_ms')} vs {b.get('latency_ms')}")
    return problems


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    new_path, ref_path = Path(argv[0]), Path(argv[1]) if len(argv) > 1 else REFERENCE
    problems = compare(new_path, ref_path)
    for line in problems:
        print(line)
    n = len(_rows(new_path))
    print(f"{n} rows; {len(problems)} difference(s) from {ref_path}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
