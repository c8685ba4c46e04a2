"""What ``edgekit bench MODEL...`` measures: ``.tflite`` paths as they are, zoo names converted per ``--quant``
through the converter cache. Converting needs TensorFlow; it is imported (inside converters/) only then."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from edgekit.errors import EdgekitError, MissingExtra, UsageError
from edgekit.models.ref import ModelKind, ModelRef

if TYPE_CHECKING:
    from edgekit.analysis.tflite_graph import TFLiteGraph


class BenchItem(NamedTuple):
    path: Path
    model: str  # the name shown and stored: the zoo name or the file stem
    quant: str | None  # None: a file that could not be read
    error: Exception | None = None  # why it cannot be measured: it fails alone, with a result row saying so
    graph: TFLiteGraph | None = None  # the file as read once, when the item was resolved (None with an error)


def convert_zoo(name: str, quant: str) -> Path:
    """``name`` converted to ``quant`` through the converter cache, written under ~/.edgekit/bench/."""
    from converters import convert

    out = _bench_path(name, quant)
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(convert(name, quant, output=out, force=True).path)


def _bench_path(name: str, quant: str) -> Path:
    return Path(os.environ.get("EDGEKIT_BENCH_DIR", "~/.edgekit/bench")).expanduser() / f"{name}_{quant}.tflite"


def bench_items(models: list[str], quants: list[str] | None) -> list[BenchItem]:
    """Each model x quantization mode, in order, each file read once. ``--quant`` applies to zoo names; a file's
    mode is its own.

    Each model is an :class:`edgekit.models.ref.ModelRef`, checked before any is converted or measured. A
    ``.tflite`` that cannot be read (or is not there), or a zoo model that fails to convert, comes back with its
    ``error`` set, so that it fails alone. A name that is no zoo model, a kind bench does not take, or a bad
    ``--quant`` raises UsageError; a zoo name without TensorFlow raises MissingExtra.
    """
    refs = [ModelRef.parse(m, must_exist=False) for m in models]
    if quants is not None and not any(r.kind is ModelKind.ZOO for r in refs):
        from edgekit.models.registry import MODEL_NAMES

        raise UsageError("--quant applies to zoo models (" + ", ".join(MODEL_NAMES) + "); a .tflite file is "
                         "measured with the quantization it holds")
    for ref in refs:  # every model checked before any is converted or measured
        ref.require(ModelKind.ZOO, ModelKind.TFLITE, command="bench").require_tensorflow(command="bench")
    out = []
    for ref in refs:
        if ref.kind is ModelKind.ZOO:
            out += [_converted(ref.name, q) for q in quants or ["fp32"]]
        else:
            out.append(_read(ref.path))
    return out


def raise_unresolved(items: list[BenchItem]) -> None:
    """Raise the first item's error, for callers that check every model before measuring any."""
    for item in items:
        if item.error is not None:
            raise item.error


def _converted(name: str, quant: str) -> BenchItem:
    from edgekit.analysis.tflite_graph import read_tflite

    try:
        path = convert_zoo(name, quant)
    except (UsageError, MissingExtra):
        raise
    except EdgekitError as err:
        return BenchItem(_bench_path(name, quant), name, quant, err)
    try:
        return BenchItem(path, name, quant, graph=read_tflite(path))
    except Exception as err:  # a converted file edgekit cannot read fails alone, as any file does
        return BenchItem(path, name, quant, err)


def _read(path: Path) -> BenchItem:
    from edgekit.analysis.quant_label import infer_quant
    from edgekit.analysis.tflite_graph import read_tflite

    try:
        graph = read_tflite(path)
        return BenchItem(Path(path), Path(path).stem, infer_quant(graph), graph=graph)
    except Exception as err:  # a file edgekit cannot read fails alone (``bench.result.error_text`` names it)
        return BenchItem(Path(path), Path(path).stem, None, err)
