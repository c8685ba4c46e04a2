"""``edgekit convert``: a Keras model to ``.tflite`` in one post-training mode, with a fidelity report."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer
from rich.table import Table

from edgekit.cli._common import console, emit_json, err_console, human_bytes
from edgekit.cli._options import Json, OptionGroup, _opt, with_groups
from edgekit.errors import EdgekitError
from edgekit.models.registry import MODEL_NAMES
from edgekit.quant_modes import MODES, QuantConfig

_SOURCE_HELP = f"A zoo model ({', '.join(MODEL_NAMES)}), a .keras/.h5 file or a SavedModel folder."
_MODE_FLAGS = {m.value: spec.help for m, spec in MODES.items()}  # the flags come from the one registry


def _flag(mode: str):
    return Annotated[bool, typer.Option(f"--{mode}", help=_MODE_FLAGS[mode])]


def _mode_config(*, float_io: bool, edgetpu: bool, per_layer: bool, **flags: bool):
    from edgekit.quant_modes import QuantMode, config_from_flags

    chosen = [QuantMode(name) for name, on in flags.items() if on]
    return config_from_flags(chosen, float_io=float_io, edgetpu=edgetpu, per_layer=per_layer)


# One flag per mode in the registry, plus the options that refine a mode; built into one QuantConfig.
QUANT = OptionGroup(params=(
    *(_opt(m.value, _flag(m.value), False) for m in MODES),
    _opt("float_io", Annotated[bool, typer.Option("--float-io", help="With --int8: keep float input and output.")],
         False),
    _opt("edgetpu", Annotated[bool, typer.Option("--edgetpu", help="Implies --int8; runs edgetpu_compiler if on "
                                                 "PATH.")], False),
    _opt("per_layer", Annotated[bool, typer.Option("--per-layer", help="With --int8: the layers with the worst "
                                                   "quantization error.")], False),
), build=_mode_config)

CALIBRATION = OptionGroup(params=(
    _opt("calibration", Annotated[str | None, typer.Option(
        "--calibration", help="An image folder, or photos | digits | synthetic (default: photos for RGB "
        "models, digits for grayscale ones).")], None),
    _opt("samples", Annotated[int | None, typer.Option("--samples", min=1, max=10000,
                                                       help="Calibration samples (default 20).")], None),
    _opt("preprocess", Annotated[str | None, typer.Option(
        "--preprocess", help="User models: tf, caffe, torch, unit, raw, or mean=A[/B/C],std=A[/B/C]"
        "[,order=BGR].")], None),
), build=dict)

ARCH = OptionGroup(params=(
    _opt("input_size", Annotated[int | None, typer.Option("--input-size", min=1, help="Square input size (zoo, or "
                                                          "a .keras/.h5 file or SavedModel saved with an unknown "
                                                          "size).")],
         None),
    _opt("alpha", Annotated[float | None, typer.Option("--alpha", help="Width multiplier (mobilenet, "
                                                       "mobilenetv2).")], None),
    _opt("classes", Annotated[int | None, typer.Option("--classes", min=1, help="Classifier width (zoo).")], None),
    _opt("weights", Annotated[str | None, typer.Option("--weights", help="Zoo weights: none, imagenet or a "
                                                       "file.")], None),
), build=dict)


@with_groups(quant=QUANT, calib=CALIBRATION, arch=ARCH)
def convert(
    source: Annotated[str, typer.Argument(help=_SOURCE_HELP)], *,
    quant: QuantConfig,
    calib: dict,
    arch: dict,
    output: Annotated[str | None, typer.Option("-o", "--output", help="Output file (default "
                                               "{model}_{mode}.tflite here).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output file, and convert even when "
                                        "the conversion is expected to need more memory than is available.")
                     ] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Convert again even if cached.")] = False,
    json: Json = False,
) -> None:
    """Quantize and convert to TFLite, then show how far the result drifts from the float model."""
    from converters import DEFAULT_SAMPLES
    from converters import convert as run_conversion

    samples = calib.pop("samples") or DEFAULT_SAMPLES
    with _Progress() as bar, _interrupt_is_an_error():
        result = run_conversion(source, quant, samples=samples, output=output, force=force, use_cache=not no_cache,
                                **calib, **arch, progress=bar.update, notify=bar.say, memory_check=not force)
        if result.cached:
            for warning in result.warnings:
                bar.say(f"warning: {warning}")
    if json:
        emit_json(result.to_dict())
        return
    _print(result)


class Interrupted(EdgekitError):
    exit_code = 130


@contextlib.contextmanager
def _interrupt_is_an_error():
    """Ctrl-C becomes an edgekit error here: typer turns a KeyboardInterrupt into a silent return otherwise."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted("interrupted; no output was written") from None


class _Progress:
    """A rich progress bar on stderr, shown only while calibrating; messages go above it."""

    def __init__(self):
        self.progress = self.task = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.stop()

    def say(self, message: str) -> None:
        (self.progress.console if self.progress else err_console).print(message, markup=False, soft_wrap=True)

    def update(self, done: int, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        if self.progress is None:
            self.progress = Progress(TextColumn("calibrating"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), console=err_console, transient=True)
            self.task = self.progress.add_task("calibrating", total=total)
            self.progress.start()
        self.progress.update(self.task, completed=done)


def _print(result) -> None:
    out = console()
    meta = result.metadata
    table = Table(title=f"{meta['model']} -> {result.path.name} ({result.mode})", show_header=False)
    table.add_column(style="bold")
    table.add_column()
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
    out.print(table)
    if result.fidelity:
        f = result.fidelity
        fid = Table(title=f"fidelity vs float, {f.samples} held-out samples ({f.source})")
        for col in ("top-1 agreement", "cosine", "SQNR", "max abs error"):
            fid.add_column(col, justify="right")
        fid.add_row(f"{100 * f.top1_agreement:.1f}%", f"{f.cosine:.4f}", f"{f.sqnr_db:.1f} dB",
                    f"{f.max_abs_error:.4g}")
        out.print(fid)
    if result.per_layer:
        worst = Table(title="layers with the worst quantization error (RMSE in quantization steps)")
        for col in ("layer", "op", "RMSE/scale", "max abs error"):
            worst.add_column(col, justify="left" if col in ("layer", "op") else "right")
        for row in result.per_layer:
            worst.add_row(row["layer"], row["op"], f"{row['rmse_over_scale']:.3f}", f"{row['max_abs_error']:.4g}")
        out.print(worst)
    if result.edgetpu and result.edgetpu.compiled:
        _print_edgetpu(out, result.edgetpu)


def _calibration(meta: dict) -> str:
    c = meta.get("calibration") or {}
    if not c.get("samples"):
        return "none (not needed for this mode)"
    return f"{c['samples']} samples from {c['source']}"


def _print_edgetpu(out, tpu) -> None:
    table = Table(title="Edge TPU (edgetpu_compiler)", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key, value in (("ops on Edge TPU", tpu.ops_on_tpu), ("ops on CPU", tpu.ops_on_cpu),
                       ("on-chip parameter memory", human_bytes(tpu.on_chip_bytes)),
                       ("off-chip parameter memory", human_bytes(tpu.off_chip_bytes)),
                       ("compiled model", tpu.output)):
        table.add_row(key, "-" if value is None else str(value))
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command()(convert)
