"""What is being converted: a zoo name, a ``.keras``/``.h5`` file, a SavedModel folder or a Keras model.

:func:`resolve` checks the source and hashes it without TensorFlow, so a cache hit never loads TF.
:func:`load_float` then builds or loads the float model, and returns a callable that runs it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekit import __version__
from edgekit.errors import ModelFileError, UsageError, first_line
from edgekit.models.ref import ModelKind, ModelRef
from edgekit.models.registry import Preprocess, get_spec

ZOO_SEED = 0  # random-initialised zoo models are built with this seed, so a rebuild is the same model


@dataclass(frozen=True)
class Source:
    kind: str  # "zoo", "keras", "savedmodel" or "object"
    name: str
    digest: str  # sha256 of the file(s), or of the zoo build arguments and weights
    preprocess: Preprocess | None
    path: Path | None = None
    build_args: dict = field(default_factory=dict)
    model: object = None  # an in-memory keras.Model handed to the API
    labels: tuple[str, ...] = ()  # class names a training sidecar gives

    def describe(self) -> str:
        return str(self.path) if self.path else self.name


def source_doc(src: Source) -> dict:
    """A file or zoo Source as JSON, for a conversion stage in another process (:func:`source_from_doc`)."""
    if src.kind == "object":
        raise ValueError("a Keras object handed to the API cannot leave this process")
    return {"kind": src.kind, "name": src.name, "digest": src.digest,
            "preprocess": src.preprocess.to_dict() if src.preprocess else None,
            "path": str(src.path) if src.path else None, "build_args": src.build_args, "labels": list(src.labels)}


def source_from_doc(doc: dict) -> Source:
    pre = doc["preprocess"]
    return Source(doc["kind"], doc["name"], doc["digest"],
                  Preprocess.from_dict(pre) if pre else None,
                  Path(doc["path"]) if doc["path"] else None, doc["build_args"], labels=tuple(doc["labels"]))


def _sha256_file(path: Path, h=None):
    h = h or hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h


def resolve(source, input_size: int | None = None, alpha: float | None = None, classes: int | None = None,
            weights: str | None = None, preprocess: Preprocess | None = None) -> Source:
    """Check and hash ``source`` (parsed as a :class:`ModelRef`); refuse arguments that do not apply to it.

    No TensorFlow is imported, but a missing one is a :class:`edgekit.errors.MissingExtra` here, before any work.
    """
    zoo_args = {"input_size": input_size, "alpha": alpha, "classes": classes, "weights": weights}
    if not isinstance(source, str | Path):
        return _from_object(source, zoo_args, preprocess)
    ref = ModelRef.parse(source).check_args(input_size=input_size, alpha=alpha, classes=classes, weights=weights)
    ref.require(ModelKind.ZOO, ModelKind.KERAS, ModelKind.SAVEDMODEL, command="convert")
    ref.require_tensorflow(command="convert")
    if ref.kind is ModelKind.ZOO:
        return _from_zoo(ref.given.lower(), zoo_args, preprocess)
    path = ref.path
    if ref.kind is ModelKind.SAVEDMODEL:
        h = hashlib.sha256()
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(str(f.relative_to(path)).encode())
            _sha256_file(f, h)
        if input_size is not None:  # a SavedModel with an unknown (None x None) input, fixed here
            h.update(f"input_size={input_size}".encode())
        return Source("savedmodel", ref.name, h.hexdigest(), preprocess, path,
                      build_args={"input_size": input_size} if input_size is not None else {})
    from edgekit.models.io import check_keras_file

    check_keras_file(path)
    h = _sha256_file(path)
    from edgekit.models.trained import read as read_trained

    info = read_trained(path)  # a model from edgekit train says in its sidecar how it was fed, and its classes
    labels: tuple[str, ...] = ()
    if info is not None:
        labels = info.labels
        h.update(json.dumps(list(labels)).encode())
        if preprocess is None:
            preprocess = info.preprocess
            h.update(json.dumps(preprocess.to_dict(), sort_keys=True).encode())
    if input_size is not None:  # a model saved with an unknown (None x None) input, fixed here
        h.update(f"input_size={input_size}".encode())
    return Source("keras", path.stem, h.hexdigest(), preprocess, path, labels=labels,
                  build_args={"input_size": input_size} if input_size is not None else {})


def _from_zoo(name: str, zoo_args: dict, preprocess: Preprocess | None) -> Source:
    from edgekit.models.weights import resolve_weights

    spec = get_spec(name)
    shape = spec.input_shape(zoo_args["input_size"])
    arch = spec.validate_arch_args({"alpha": zoo_args["alpha"]} if zoo_args["alpha"] is not None else {})
    classes = spec.default_classes if zoo_args["classes"] is None else zoo_args["classes"]
    weights_path = resolve_weights(spec, zoo_args["weights"], shape, classes, True, arch)
    args = {"name": spec.name.value, "input_shape": list(shape), "classes": classes, **arch,
            "weights": str(weights_path) if weights_path else None}
    h = hashlib.sha256(json.dumps({**args, "seed": ZOO_SEED, "edgekit": __version__},
                                  sort_keys=True).encode())
    if weights_path:
        _sha256_file(weights_path, h)
    stem = spec.name.value + (f"_{arch['alpha']:g}" if "alpha" in arch and arch["alpha"] != 1.0 else "")
    return Source("zoo", stem, h.hexdigest(), preprocess or spec.preprocess, None, args)


def _from_object(model, zoo_args: dict, preprocess: Preprocess | None) -> Source:
    if not hasattr(model, "get_config") or not hasattr(model, "get_weights"):
        raise UsageError(f"cannot convert a {type(model).__name__}; pass a keras.Model, a zoo name or a path")
    if any(v is not None for v in zoo_args.values()):
        raise UsageError("input_size, alpha, classes and weights apply to zoo models only")
    h = hashlib.sha256(json.dumps(model.get_config(), sort_keys=True, default=str).encode())
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w).tobytes())
    return Source("object", model.name, h.hexdigest(), preprocess, model=model)


@dataclass(frozen=True)
class FloatModel:
    """The float model: something to convert, a function to run it, and its input shape (H, W, C)."""

    keras_model: object  # None for a SavedModel
    run: Callable[[np.ndarray], np.ndarray]
    input_shape: tuple[int, int, int]
    fixed: tuple | None = None  # a SavedModel traced at --input-size: (concrete function, the loaded object)


def load_float(src: Source) -> FloatModel:
    """Build or load the float model (imports TensorFlow)."""
    if src.kind == "savedmodel":
        return _load_savedmodel(src.path, src.build_args.get("input_size"))
    if src.kind == "zoo":
        from edgekit.models import build
        from edgekit.models._keras import keras

        keras().utils.set_random_seed(ZOO_SEED)
        args = dict(src.build_args)
        model = build(args.pop("name"), input_shape=tuple(args.pop("input_shape")), **args)
    elif src.kind == "keras":
        from edgekit.models import load_model
        from edgekit.models.io import with_input_size

        model = with_input_size(load_model(src.path), src.build_args.get("input_size"), label=repr(str(src.path)))
    else:
        model = src.model
    shape = tuple(model.inputs[0].shape[1:])
    if len(model.inputs) != 1 or len(shape) != 3 or None in shape:
        raise UsageError(f"{src.describe()}: edgekit converts image models with one fixed-size (H, W, C) input; "
                         f"this one takes {[tuple(i.shape) for i in model.inputs]}")
    return FloatModel(model, lambda x: np.asarray(model(x, training=False)), shape)


def _load_savedmodel(path: Path, input_size: int | None = None) -> FloatModel:
    from converters._tf import quiet_tf
    from converters.savedmodel import fixed_signature

    with quiet_tf() as tf:
        try:
            loaded = tf.saved_model.load(str(path))
            fn = loaded.signatures["serving_default"]
        except Exception as err:  # TF raises many types for a bad SavedModel
            first = first_line(err)
            raise ModelFileError(f"could not load SavedModel {str(path)!r}: {first}") from None
    if input_size is not None:  # an unknown (None x None) input traced again at N x N, as `edgekit info` does
        concrete = fixed_signature(tf, loaded, input_size, repr(str(path)))

        def run_fixed(x: np.ndarray) -> np.ndarray:
            return np.asarray(next(iter(concrete(tf.constant(x)).values())))

        shape = tuple(concrete.structured_input_signature[0][0].shape[1:])
        return FloatModel(None, run_fixed, shape, (concrete, loaded))
    specs = list(fn.structured_input_signature[1].values())
    shape = tuple(specs[0].shape[1:]) if len(specs) == 1 else ()
    if len(shape) != 3 or None in shape:
        raise UsageError(f"{str(path)!r}: edgekit converts image models with one fixed-size (H, W, C) input; "
                         f"this one takes {[tuple(s.shape) for s in specs]}")
    key = next(iter(fn.structured_input_signature[1]))

    def run(x: np.ndarray) -> np.ndarray:
        out = fn(**{key: tf.constant(x)})
        return np.asarray(next(iter(out.values())))

    return FloatModel(None, run, shape)


def settle_batchnorm(model, x: np.ndarray) -> int:
    """Set every BatchNormalization's moving statistics to those of ``x``; returns how many were set.

    A random-initialised zoo model keeps BN's initial statistics (mean 0, variance 1), under which the
    activations of a deep network shrink towards zero layer by layer: MobileNet v2's outputs are then a
    uniform 0.001, which makes int8 ranges and the fidelity check meaningless. One forward pass in training
    mode with momentum 0 gives each BN the statistics of real images, as training would. Trained weights are
    never touched; the sidecar records when this ran.
    """
    layers = [layer for layer in model._flatten_layers() if type(layer).__name__ == "BatchNormalization"]
    saved = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 0.0
    try:
        model(x, training=True)
    finally:
        for layer, momentum in zip(layers, saved, strict=True):
            layer.momentum = momentum
    return len(layers)
