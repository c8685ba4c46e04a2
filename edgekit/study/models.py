"""The models of a study: zoo names and the user's own files, parsed once through :class:`ModelRef`.

``--models`` is a comma-separated list. Each item is a zoo name, a ``.keras``/``.h5`` file, a SavedModel folder
or a ``.tflite`` file, mixed freely. Paths keep their case; zoo names are matched in any case. A Keras model
(file or SavedModel) is converted per ``--quant``, like a zoo model; options for its conversion follow its path
after colons, as ``KEY=VALUE``:

    --models mobilenetv2,my_model.keras:preprocess=raw:calibration=photos,their_int8.tflite

``preprocess`` is one of ``edgekit convert --preprocess``'s named choices (tf, caffe, torch, unit, raw: a custom
``mean=...,std=...`` holds commas, so convert such a model with ``edgekit convert`` and study its ``.tflite``),
``calibration`` one of its ``--calibration``'s (a folder of images, ``photos``, ``digits`` or ``synthetic``).
A ``.tflite`` file is measured as it is, once per target: its quantization is read from the file, and it is not
converted here. A user model is named in the report by its file's stem (a SavedModel: its folder's name), with
the path it came from.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.errors import UsageError

OPTIONS = ("preprocess", "calibration")


@dataclass(frozen=True)
class StudyModel:
    """One model of the study: ``name`` is what the report calls it; ``source`` the path as the user typed it
    (None for a zoo model); ``quant`` a ``.tflite`` file's own quantization (None: converted per --quant)."""

    name: str
    kind: str  # edgekit.models.ref.ModelKind's value
    source: str | None = None
    path: str | None = None  # expanded
    preprocess: str | None = None
    calibration: str | None = None
    quant: str | None = None

    @property
    def converted_here(self) -> bool:
        return self.kind != "tflite"

    def describe(self) -> str:
        """"my_model.keras (Keras file), converted here per --quant, preprocess raw"."""
        if self.source is None:
            return f"{self.name}: edgekit's zoo"
        if not self.converted_here:
            return (f"{self.name}: {self.source} (.tflite file), measured as it is ({self.quant}, read from the "
                    "file), not converted here")
        extra = "".join(f", {k} {v}" for k, v in (("preprocess", self.preprocess),
                                                   ("calibration", self.calibration)) if v)
        return f"{self.name}: {self.source} ({self.kind} model), converted here per --quant{extra}"

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "source": self.source, "preprocess": self.preprocess,
                "calibration": self.calibration, "quant": self.quant, "converted_here": self.converted_here}


def _options(item: str) -> tuple[str, dict]:
    head, *rest = item.split(":")
    options = {}
    for part in rest:
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in OPTIONS or not value.strip():
            raise UsageError(f"--models {item!r}: after a model, ':KEY=VALUE' with KEY one of {', '.join(OPTIONS)} "
                             f"(e.g. my_model.keras:preprocess=raw); got {part!r}")
        options[key] = value.strip()
    return head.strip(), options


def parse_model(item: str) -> StudyModel:
    """One ``--models`` item (see the module docstring)."""
    from edgekit.models.ref import ModelKind, ModelRef

    text, options = _options(item)
    ref = ModelRef.parse(text)
    if ref.kind is ModelKind.ZOO:
        if options:
            raise UsageError(f"--models {item!r}: {', '.join(options)} applies to a user's Keras model; a zoo "
                             "model is converted with its own preprocessing")
        return StudyModel(ref.name, ref.kind.value)
    if ref.kind is ModelKind.TFLITE:
        if options:
            raise UsageError(f"--models {item!r}: a .tflite file is measured as it is, not converted, so "
                             f"{', '.join(options)} does not apply")
        from edgekit.analysis import read_tflite
        from edgekit.analysis.quant_label import infer_quant

        quant = infer_quant(read_tflite(ref.path))
        return StudyModel(ref.name, ref.kind.value, ref.given, str(ref.path), quant=quant)
    ref.require_tensorflow(command="study")
    if "preprocess" in options:
        from converters.preprocess import parse_preprocess

        parse_preprocess(options["preprocess"])  # a wrong name: its one line now, before any work
    return StudyModel(ref.name, ref.kind.value, ref.given, str(ref.path), **options)


def _same(a: StudyModel, b: StudyModel) -> bool:
    """One model named twice: the same zoo name, or the same file (however spelled) with the same options."""
    from pathlib import Path

    where = [None if x.path is None else Path(x.path).resolve() for x in (a, b)]
    return where[0] == where[1] and (a.kind, a.preprocess, a.calibration) == (b.kind, b.preprocess, b.calibration)


def parse_models(items: list[str]) -> list[StudyModel]:
    """Every item, each name once: two models of one name (a file whose stem is a zoo name, two files of one
    stem) are refused, since the report could not tell them apart."""
    models: dict[str, StudyModel] = {}
    for item in items:
        m = parse_model(item)
        if m.name in models:
            if _same(models[m.name], m):
                continue
            raise UsageError(f"--models names two models {m.name!r} ({models[m.name].source or 'the zoo'} and "
                             f"{m.source or 'the zoo'}); rename a file so that the report can tell them apart")
        models[m.name] = m
    return list(models.values())
