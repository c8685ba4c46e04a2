"""``edgekit convert``: a Keras model to ``.tflite`` in one post-training mode, with a fidelity report."""

from __future__ import annotations

from typing import Annotated

import typer

from edgekit.cli._common import ProgressBar, console, emit_json, human_bytes, interrupt_says
from edgekit.cli._options import MODEL_PANEL, Alpha, Classes, InputSize, Json, PanelCommand, Wide, whole_number
from edgekit.cli._table import FitTable, col
from edgekit.models.registry import MODEL_NAMES
from edgekit.quant_modes import MODE_NAMES, MODES, QuantMode

_SOURCE_HELP = f"A zoo model ({', '.join(MODEL_NAMES)}), a .keras/.h5 file or a SavedModel folder."
QUANT, CALIBRATION = "Quantization", "Calibration"


def _flag(mode: QuantMode):
    """``--int8`` for ``--quant int8``: one flag per mode in the registry, with the registry's help."""
    return Annotated[bool, typer.Option(f"--{mode.value}", help=MODES[mode].help, rich_help_panel=QUANT)]


def convert(
    source: Annotated[str, typer.Argument(help=_SOURCE_HELP)], *,
    quant: Annotated[str | None, typer.Option("--quant", help=f"The quantization: {', '.join(MODE_NAMES)} (as in "
                                              "edgekit bench; or one of the flags below).",
                                              rich_help_panel=QUANT)] = None,
    fp32: _flag(QuantMode.FP32) = False,
    fp16: _flag(QuantMode.FP16) = False,
    dynamic: _flag(QuantMode.DYNAMIC) = False,
    int8: _flag(QuantMode.INT8) = False,
    int16x8: _flag(QuantMode.INT16X8) = False,
    float_io: Annotated[bool, typer.Option("--float-io", help="With --int8: keep float input and output.",
                                           rich_help_panel=QUANT)] = False,
    edgetpu: Annotated[bool, typer.Option("--edgetpu", help="Implies --int8; runs edgetpu_compiler if on PATH.",
                                          rich_help_panel=QUANT)] = False,
    per_layer: Annotated[bool, typer.Option("--per-layer", help="With --int8: the layers with the worst "
                                            "quantization error.", rich_help_panel=QUANT)] = False,
    calibration: Annotated[str | None, typer.Option(
        "--calibration", help="An image folder, or photos | digits | synthetic (default: photos for RGB models, "
        "digits for grayscale ones).", rich_help_panel=CALIBRATION)] = None,
    samples: Annotated[int | None, typer.Option("--samples", callback=whole_number("--samples", high=10000),
                                                help="Calibration samples, 1 to 10000 (default 20).",
                                                rich_help_panel=CALIBRATION)] = None,
    preprocess: Annotated[str | None, typer.Option(
        "--preprocess", help="User models: tf, caffe, torch, unit, raw, or mean=A[/B/C],std=A[/B/C][,order=BGR].",
        rich_help_panel=CALIBRATION)] = None,
    input_size: InputSize = None,
    alpha: Alpha = None,
    classes: Classes = None,
    weights: Annotated[str | None, typer.Option("--weights", help="Zoo weights: none, imagenet or a file.",
                                                rich_help_panel=MODEL_PANEL)] = None,
    output: Annotated[str | None, typer.Option("-o", "--output", help="Output file (default "
                                               "{model}_{quant}.tflite here).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output file, and convert even when "
                                        "the conversion is expected to need more memory than is available.")
                     ] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Convert again even if cached.")] = False,
    json: Json = False, wide: Wide = False,
) -> None:
    """Quantize and convert to TFLite, then show how far the result drifts from the float model."""
    from converters import DEFAULT_SAMPLES
    from converters import convert as run_conversion
    from edgekit.quant_modes import config_from_flags

    flags = {QuantMode.FP32: fp32, QuantMode.FP16: fp16, QuantMode.DYNAMIC: dynamic, QuantMode.INT8: int8,
             QuantMode.INT16X8: int16x8}
    chosen = [mode for mode, on in flags.items() if on]
    config = config_from_flags(chosen, quant=quant, float_io=float_io, edgetpu=edgetpu, per_layer=per_layer)
    with ProgressBar("calibrating") as bar, interrupt_says("interrupted; no output was written"):
        result = run_conversion(source, config, calibration=calibration, samples=samples or DEFAULT_SAMPLES,
                                preprocess=preprocess, input_size=input_size, alpha=alpha, classes=classes,
                                weights=weights, output=output, force=force, use_cache=not no_cache,
                                progress=bar.update, notify=bar.say, memory_check=not force)
        if result.cached:
            for warning in result.warnings:
                bar.say(f"warning: {warning}")
    if json:
        emit_json(result.to_dict())
        return
    _print(result, wide)


def _print(result, wide: bool = False) -> None:
    out = console()
    meta = result.metadata
    table = FitTable(f"{meta['model']} -> {result.path.name} ({result.quant})",
                     [col("figure", names=True), col("value", fold=True)], show_header=False)
    io = ", ".join(f"{t['dtype']} {'x'.join(map(str, t['shape']))}" for t in meta["inputs"])
    oo = ", ".join(f"{t['dtype']} {'x'.join(map(str, t['shape']))}" for t in meta["outputs"])
    ratio = f" ({100 * result.size_bytes / result.float_bytes:.1f}% of float32 weights)" if result.float_bytes else ""
    for key, value in (("file", str(result.path)), ("size", human_bytes(result.size_bytes) + ratio),
                       ("input", io), ("output", oo), ("weights / activations",
                                                       f"{meta['quantization']['weights']} / "
                                                       f"{meta['quantization']['activations']}"),
                       ("calibration", _calibration(meta)),
                       ("time", f"{result.seconds:.1f} s" + (" (cached)" if result.cached else
                                                             f", converter {result.conversion_seconds:.1f} s")),
                       ("peak memory", "-" if result.peak_rss_mb is None else
                        f"{result.peak_rss_mb:,} MB (converting process)")):
        table.add_row(key, value)
    table.print(out, wide=wide)
    if result.fidelity:
        f = result.fidelity
        fid = FitTable(f"fidelity vs float, {f.samples} held-out samples ({f.source})", [
            col("top-1 agreement", names=True, right=True), col("cosine", 5, right=True),
            col("SQNR", 6, right=True), col("max abs error", 4, right=True)])
        fid.add_row(f"{100 * f.top1_agreement:.1f}%", f"{f.cosine:.4f}", f"{f.sqnr_db:.1f} dB",
                    f"{f.max_abs_error:.4g}")
        fid.print(out, wide=wide)
        if getattr(f, "flat", None):
            from converters.fidelity import not_informative

            out.print(not_informative(f), style="yellow", markup=False, highlight=False)
    if result.per_layer:
        worst = FitTable("layers with the worst quantization error (RMSE in quantization steps)", [
            col("layer", names=True), col("op", 4), col("RMSE/scale", 6, right=True),
            col("max abs error", 3, right=True)])
        for row in result.per_layer:
            worst.add_row(row["layer"], row["op"], f"{row['rmse_over_scale']:.3f}", f"{row['max_abs_error']:.4g}")
        worst.print(out, wide=wide)
    if result.edgetpu and result.edgetpu.compiled:
        _print_edgetpu(out, result.edgetpu, wide)


def _calibration(meta: dict) -> str:
    c = meta.get("calibration") or {}
    if not c.get("samples"):
        return "none (not needed for this mode)"
    return f"{c['samples']} samples from {c['source']}"


def _print_edgetpu(out, tpu, wide: bool) -> None:
    table = FitTable("Edge TPU (edgetpu_compiler)", [col("figure", names=True), col("value", right=True, fold=True)],
                     show_header=False)
    for key, value in (("ops on Edge TPU", tpu.ops_on_tpu), ("ops on CPU", tpu.ops_on_cpu),
                       ("on-chip parameter memory", human_bytes(tpu.on_chip_bytes)),
                       ("off-chip parameter memory", human_bytes(tpu.off_chip_bytes)),
                       ("compiled model", tpu.output)):
        table.add_row(key, "-" if value is None else str(value))
    table.print(out, wide=wide)


def register(app: typer.Typer) -> None:
    app.command(cls=PanelCommand)(convert)
