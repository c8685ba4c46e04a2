"""One reference to a model, as a user names it: a zoo name, a ``.keras``/``.h5`` file, a SavedModel folder or a
``.tflite`` file. Parsed and validated once, with one set of messages, for every command (info, convert, bench,
check, eval, the study). ``~`` is expanded. No TensorFlow: a reference needs none until the model is built.

It lives beside the zoo registry (the models layer), whose names it needs; it imports nothing heavy.

``--input-size`` is decided here once for all commands: it applies to zoo models, and to ``.keras``/``.h5``
files and SavedModel folders saved with an unknown input size (there it fixes the size); a ``.tflite`` file's
input shape was fixed when it was converted, so it is refused there.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from edgekit.errors import MissingExtra, ModelFileError, UsageError, unknown_name
from edgekit.models.registry import MODEL_NAMES


class ModelKind(str, Enum):
    ZOO = "zoo"
    KERAS = "keras"
    SAVEDMODEL = "savedmodel"
    TFLITE = "tflite"


KERAS_SUFFIXES = (".keras", ".h5")
_LABEL = {ModelKind.ZOO: "zoo model", ModelKind.KERAS: "Keras file", ModelKind.SAVEDMODEL: "SavedModel folder",
          ModelKind.TFLITE: ".tflite file"}
_PLURAL = {ModelKind.ZOO: "zoo models", ModelKind.KERAS: ".keras/.h5 files",
           ModelKind.SAVEDMODEL: "SavedModel folders", ModelKind.TFLITE: ".tflite files"}
ALL_KINDS = tuple(ModelKind)


def _choices(kinds: tuple[ModelKind, ...]) -> str:
    words = [_PLURAL[k] + (f" ({', '.join(MODEL_NAMES)})" if k is ModelKind.ZOO else "") for k in kinds]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


@dataclass(frozen=True)
class ModelRef:
    """A parsed model reference: what kind it is, what the user typed, and the expanded path of a file or folder."""

    kind: ModelKind
    given: str  # as the user typed it: messages quote this
    path: Path | None = None  # None for a zoo name

    @property
    def name(self) -> str:
        """The zoo name, or the file's stem (a SavedModel: its folder's name)."""
        if self.path is None:
            return self.given.lower()
        return self.path.resolve().name if self.kind is ModelKind.SAVEDMODEL else self.path.stem

    @property
    def label(self) -> str:
        return _LABEL[self.kind]

    @classmethod
    def parse(cls, text: str | Path, *, must_exist: bool = True) -> ModelRef:
        """Tell what ``text`` names. A zoo name wins unless a file or folder of that name exists here.

        Raises:
            UsageError: a bare word that is no zoo name (with "did you mean"), or a file of an unknown kind.
            ModelFileError: a path that does not exist (unless ``must_exist`` is False: a ``.tflite`` that is
                read later, so that it fails alone), or a folder that is not a SavedModel.
        """
        given = str(text).strip()
        path = Path(given).expanduser()
        if given.lower() in MODEL_NAMES and not path.exists():
            return cls(ModelKind.ZOO, given)
        if not path.exists():
            if not any(c in given for c in "/\\") and not path.suffix:
                raise unknown_name("model", given, MODEL_NAMES)
            if not must_exist and path.suffix == ".tflite":
                return cls(ModelKind.TFLITE, given, path)
            raise ModelFileError(f"model {given!r} not found: no such file or folder (check the path)")
        if path.is_dir():
            if not (path / "saved_model.pb").is_file():
                raise ModelFileError(f"{given!r} is a folder without saved_model.pb, so not a SavedModel")
            return cls(ModelKind.SAVEDMODEL, given, path)
        if path.suffix == ".tflite":
            return cls(ModelKind.TFLITE, given, path)
        if path.suffix in KERAS_SUFFIXES:
            return cls(ModelKind.KERAS, given, path)
        raise UsageError(f"cannot use {given!r}: expected {_choices(ALL_KINDS)}")

    def check_args(self, *, input_size: int | None = None, **zoo_args) -> ModelRef:
        """Refuse options that do not apply to this kind: architecture options (``alpha``, ``classes``,
        ``weights``...) apply to zoo models only; ``input_size`` to all but a ``.tflite`` file."""
        if self.kind is ModelKind.ZOO:
            return self
        given = [f"--{k.replace('_', '-')}" for k, v in zoo_args.items() if v is not None]
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise UsageError(f"{', '.join(given)} {verb} to zoo models only; {self.given!r} is a {self.label} "
                             "whose architecture is fixed")
        if input_size is not None and self.kind is ModelKind.TFLITE:
            raise UsageError(f"--input-size applies to zoo models, and to .keras/.h5 files and SavedModels with an "
                             f"unknown input size; {self.given!r} is a .tflite file whose input shape was fixed "
                             "when it was converted")
        return self

    def require(self, *kinds: ModelKind, command: str, make: str | None = None) -> ModelRef:
        """Refuse a kind ``command`` does not take, saying which command makes one it takes (``make``, by default
        ``edgekit convert NAME --int8``). Without TensorFlow that command cannot run, so the error is then
        :class:`MissingExtra`: the real obstacle is the missing ``[convert]`` extra."""
        if self.kind in kinds:
            return self
        what = f"edgekit {command} takes {_choices(kinds)}; {self.given!r} is a {self.label}"
        if self.kind is ModelKind.TFLITE:
            raise UsageError(what)
        make = make or f"edgekit convert {self.given} --int8"
        if importlib.util.find_spec("tensorflow") is None:
            raise MissingExtra("convert", f"{what}, and making one ({make}) needs tensorflow, which is not "
                                          "installed")
        raise UsageError(f"{what}: make one first with {make}")

    def require_tensorflow(self, *, command: str, keras_will_do: bool = False) -> ModelRef:
        """:class:`MissingExtra` unless what this kind needs is installed: nothing for a ``.tflite`` file; Keras
        to build or load a zoo model or a Keras file (``keras_will_do``), TensorFlow for the rest."""
        if self.kind is ModelKind.TFLITE:
            return self
        module = "keras" if keras_will_do and self.kind is not ModelKind.SAVEDMODEL else "tensorflow"
        if importlib.util.find_spec(module) is None:
            raise MissingExtra("convert", f"edgekit {command} {self.given} (a {self.label}) needs {module}, which "
                                          "is not installed")
        return self
