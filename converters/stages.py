"""A large model's conversion as a chain of processes, each holding at most one of TensorFlow's copies of it.

In one process, converting VGG-16 (553 MB of float weights) to int8 peaks at 7.1 GB (``docs/memory.md``): TF's
converter keeps what each step made (the MLIR module's constants, the float flatbuffer, the calibration model,
the quantizer's copy) until the process ends. Here each step that needs a copy runs in its own process, one at a
time, and hands the next a file in a shared folder (issue 22). The stages, in order (:func:`stages_for`):

    prepare    build or load the float model; take the calibration and held-out inputs and the float outputs;
               write a SavedModel (``converters.prepared``)
    core       TF's converter from the SavedModel to the float (or fp16, or dynamic-range) flatbuffer; for int8
               it also records the arguments TF gives its quantizer
    calibrate  int8 only: TF's calibrator on that flatbuffer (the model with min/max statistics)
    quantize   int8 only: TF's quantizer on the calibrated flatbuffer, large dense kernels in pieces
               (``converters.chunked``)
    final      TF's converter once more, with each earlier stage's file in place of the step that made it, so
               that the rest (buffer de-duplication, conversion metadata) runs as in one process

``final`` returns what ``TFLiteConverter.convert()`` returns: the same bytes (``tests/test_convert_memory.py``).
The chain runs in the process that called :func:`converters.convert` (``edgekit convert``, or the study's own
process: ``converters.isolated`` starts no extra process for a staged conversion), which imports no TensorFlow
and checks the result against the float outputs with the TFLite runtime. Each stage is a child process
(``edgekit.child_process``) running ``converters.stage_steps``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edgekit import child_process
from edgekit.quant_modes import QuantConfig, QuantMode


def stages_for(config: QuantConfig) -> tuple[str, ...]:
    """int16x8 calibrates and quantizes in one call of TF's older quantizer, which runs in ``final``."""
    return ("prepare", "core", "calibrate", "quantize", "final") if config.mode is QuantMode.INT8 else \
        ("prepare", "core", "final")


def run_chain(folder: Path, job: dict, config: QuantConfig, *,
              progress: Callable[[int], None] | None = None) -> tuple[bytes, dict[str, dict]]:
    """Run every stage for ``job`` (convert()'s arguments, as JSON) in ``folder``; the model and each stage's report
    (``peak_rss_mb``, ``seconds``, ``notes``). A stage's error is raised here as its type."""
    from converters import chunked

    job = {"chunk_from_elements": chunked.CHUNK_FROM_ELEMENTS, "piece_elements": chunked.ROWS_PER_PIECE_ELEMENTS,
           **job}
    reports: dict[str, dict] = {}
    for stage in stages_for(config):
        child = child_process.Child(module="converters.stage_steps", what=f"the conversion's {stage} stage")
        request = {"stage": stage, "folder": str(folder), "job": job, "prepared": reports.get("prepare")}
        reports[stage] = child_process.run(child, request, progress=progress if stage == "calibrate" else None)
    return (folder / "final.tflite").read_bytes(), reports
