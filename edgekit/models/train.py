"""``train``: fit a zoo architecture on ``digits`` or an image folder, and save ``model.keras`` plus its record.

Without ``weights`` the whole network trains from scratch with the architecture's :class:`Recipe`. With
``weights`` (``imagenet`` or a file of base weights) the base is loaded without its classifier, frozen, and
given a new head (global pooling, dropout 0.2, dense softmax); ``fine_tune_at`` then unfreezes the base from
that layer on for a second phase of as many epochs at ``lr * fine_tune_lr_factor``. The base runs in
inference mode throughout, so its BatchNorm statistics stay those of the pretrained weights.

One job over 250 lines: one training run, from the config to the saved model and its record; the helpers
below are its steps (recipe, head, fine-tuning start, BatchNorm momentum, fit, record, save) and nothing else
calls them.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from edgekit import __version__
from edgekit.atomic import refuse_special
from edgekit.data import DataSource
from edgekit.errors import EdgekitError, UsageError, did_you_mean
from edgekit.models import build, trained
from edgekit.models.recipes import Augment, Recipe, recipe_for
from edgekit.models.registry import TF_PREPROCESS, ModelSpec, get_spec
from edgekit.models.weights import resolve_weights


class EpochLog(NamedTuple):
    phase: str  # "train", "head" or "fine-tune"
    epoch: int  # 1-based, within the phase
    epochs: int
    metrics: dict  # loss, accuracy, val_loss, val_accuracy
    seconds: float


@dataclass(frozen=True)
class TrainConfig:
    """What the user asked for; None means the recipe's default. Checked when built."""

    model: str
    data: DataSource
    output: Path
    _: KW_ONLY
    val_split: float = 0.2
    seed: int = 123
    epochs: int | None = None
    batch_size: int | None = None
    input_size: int | None = None
    alpha: float | None = None
    weights: str | None = None
    freeze_base: bool | None = None
    fine_tune_at: str | None = None
    lr: float | None = None
    augment: tuple[Augment, ...] | None = None
    force: bool = False

    def __post_init__(self):
        if not 0.0 < self.val_split < 1.0:
            raise UsageError(f"--val-split must be between 0 and 1 (exclusive), got {self.val_split}")
        for name, value in (("--epochs", self.epochs), ("--batch-size", self.batch_size)):
            if value is not None and value < 1:
                raise UsageError(f"{name} must be at least 1, got {value}")
        if self.lr is not None and not self.lr > 0:
            raise UsageError(f"--lr must be positive, got {self.lr}")
        pretrained = self.weights is not None and str(self.weights).lower() != "none"
        if not pretrained and (self.freeze_base or self.fine_tune_at is not None):
            raise UsageError("--freeze-base and --fine-tune-at need a pretrained base: pass --weights imagenet or "
                             "--weights PATH (without weights the whole model trains from scratch)")
        if self.fine_tune_at is not None and self.freeze_base is False:
            raise UsageError("--fine-tune-at unfreezes part of a frozen base; drop --no-freeze-base")
        if Path(self.output).suffix != ".keras":
            raise UsageError(f"-o {str(self.output)!r}: the output must end in .keras")

    @property
    def pretrained(self) -> bool:
        return self.weights is not None and str(self.weights).lower() != "none"


@dataclass(frozen=True)
class TrainResult:
    path: Path
    record_path: Path
    val_accuracy: float
    history: dict
    seconds: float
    document: dict
    notes: tuple[str, ...] = field(default=())


def train(config: TrainConfig, progress: Callable[[EpochLog], None] | None = None,
          notify: Callable[[str], None] | None = None) -> TrainResult:
    """Train, then write ``config.output`` and its training record atomically. See the module docstring.

    Raises:
        UsageError: bad arguments. WeightsNotFoundError: ImageNet weights not in the Keras cache.
        EdgekitError: unreadable data, or an output that exists without ``force``.
    """
    from edgekit.models.datasets import data_channels, train_val

    started = time.perf_counter()
    spec = get_spec(config.model)
    recipe = _effective_recipe(recipe_for(spec.name), config)
    out = _check_output(Path(config.output).expanduser(), config.force)
    channels = 3 if str(config.weights).lower() == "imagenet" else data_channels(config.data)
    shape = spec.input_shape((config.input_size or spec.default_input[0],) * 2 + (channels,))
    arch = spec.validate_arch_args({"alpha": config.alpha} if config.alpha is not None else {})
    resolve_weights(spec, config.weights, shape, spec.default_classes, False, arch)  # fail before any work
    preprocess = spec.preprocess if config.pretrained else TF_PREPROCESS
    from edgekit.models._keras import keras

    keras().utils.set_random_seed(config.seed)
    with train_val(config.data, shape[:2], channels, config.val_split, config.seed, recipe.batch_size,
                   preprocess, recipe.augment) as data:
        for note in data.notes:
            (notify or (lambda _m: None))(f"warning: {note}")
        model, base = _assemble(spec, shape, len(data.class_names), config, arch)
        start = _fine_tune_start(base, config.fine_tune_at) if config.fine_tune_at is not None else None
        steps = math.ceil(data.train_count / recipe.batch_size)
        with _bn_momentum(model, recipe.bn_momentum):
            history = _fit(model, data, recipe.lr, recipe.epochs, steps, "head" if base else "train", progress)
            if start is not None:
                base.trainable = True
                for lyr in base.layers[:start]:
                    lyr.trainable = False
                history += _fit(model, data, recipe.lr * recipe.fine_tune_lr_factor, recipe.epochs, steps,
                                "fine-tune", progress)
        doc = _document(spec, config, recipe, shape, arch, preprocess, data, history, model,
                        time.perf_counter() - started)
        _save(model, out, doc)
    return TrainResult(out, trained.record_path(out), doc["val_accuracy"], doc["history"], doc["seconds"], doc,
                       data.notes)


def _effective_recipe(recipe: Recipe, c: TrainConfig) -> Recipe:
    given = {"epochs": c.epochs, "batch_size": c.batch_size, "lr": c.lr, "augment": c.augment}
    return replace(recipe, **{k: v for k, v in given.items() if v is not None})


def _check_output(out: Path, force: bool) -> Path:
    for path, option in ((out, "-o"), (trained.record_path(out), "the training record of -o")):
        refuse_special(path, option)  # a device, a socket or a FIFO: never replaced, even with --force
        if path.exists() and not force:
            raise EdgekitError(f"{str(path)!r} already exists; pass --force to replace it or -o to pick another name")
    if not out.parent.is_dir():
        raise EdgekitError(f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not exist")
    return out


def _assemble(spec: ModelSpec, shape: tuple[int, int, int], classes: int, config: TrainConfig, arch: dict):
    """The model to train, and the pretrained base inside it (None when training from scratch)."""
    if not config.pretrained:
        return build(spec.name, shape, classes, True, None, **arch), None
    from edgekit.models._keras import keras

    layers = keras().layers
    base = build(spec.name, shape, None, False, config.weights, **arch)
    base.trainable = config.freeze_base is False
    inputs = keras().Input(shape=shape, name="input")
    x = base(inputs, training=False)
    x = layers.GlobalAveragePooling2D(name="head_pool")(x) if len(x.shape) == 4 else x
    x = layers.Dropout(0.2, name="head_dropout")(x)
    outputs = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras().Model(inputs, outputs, name=f"{spec.name.value}_transfer"), base


def _fine_tune_start(base, layer: str) -> int:
    """The index in the base of ``--fine-tune-at`` (a layer name or index), checked before training."""
    names = [lyr.name for lyr in base.layers]
    if layer.isdigit():
        if not 0 <= int(layer) < len(names):
            raise UsageError(f"--fine-tune-at {layer}: the base has layers 0 to {len(names) - 1}")
        return int(layer)
    if layer not in names:
        raise UsageError(f"--fine-tune-at {layer!r} is not a layer of the base{did_you_mean(layer, names)}; pass "
                         f"a layer name or an index from 0 to {len(names) - 1} ('edgekit info' lists the layers)")
    return names.index(layer)


class _bn_momentum:
    """Train with this BatchNorm momentum (None: unchanged); each layer's own value is restored after."""

    def __init__(self, model, momentum: float | None):
        self.layers = [lyr for lyr in model._flatten_layers() if type(lyr).__name__ == "BatchNormalization"] \
            if momentum is not None else []
        self.saved = [lyr.momentum for lyr in self.layers]
        self.momentum = momentum

    def __enter__(self):
        for lyr in self.layers:
            lyr.momentum = self.momentum

    def __exit__(self, *exc):
        for lyr, m in zip(self.layers, self.saved, strict=True):
            lyr.momentum = m


def _fit(model, data, lr: float, epochs: int, steps: int, phase: str, progress) -> list[dict]:
    from edgekit.models._keras import keras

    schedule = keras().optimizers.schedules.CosineDecay(lr, decay_steps=epochs * steps)
    model.compile(optimizer=keras().optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    rows: list[dict] = []

    class Report(keras().callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            metrics = {k: round(float(v), 5) for k, v in (logs or {}).items() if k != "learning_rate"}
            seconds = time.perf_counter() - self.t0
            rows.append({"phase": phase, "epoch": epoch + 1, **metrics, "seconds": round(seconds, 2)})
            if progress:
                progress(EpochLog(phase, epoch + 1, epochs, metrics, seconds))

    model.fit(data.train, validation_data=data.val, epochs=epochs, verbose=0, shuffle=False, callbacks=[Report()])
    return rows


def _document(spec, config: TrainConfig, recipe: Recipe, shape, arch, preprocess, data, history, model,
              seconds: float) -> dict:
    from edgekit.analysis import analyze_keras

    cost = analyze_keras(model, name=spec.name.value)
    return {
        "format": trained.FORMAT, "model": spec.name.value, "arch_args": arch, "input_shape": list(shape),
        "labels": list(data.class_names), "preprocess": preprocess.to_dict(),
        "data": {"source": config.data.describe(), "val_split": config.val_split, "seed": config.seed,
                 "train_samples": data.train_count, "val_samples": data.val_count, "notes": list(data.notes)},
        "weights": config.weights, "frozen_base": config.pretrained and config.freeze_base is not False,
        "fine_tune_at": config.fine_tune_at, "recipe": recipe.to_dict(),
        "history": {k: [row.get(k) for row in history] for k in history[0]},
        "val_accuracy": history[-1].get("val_accuracy"), "params": cost.params, "macs": cost.macs,
        "seconds": round(seconds, 2), "edgekit": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _save(model, out: Path, doc: dict) -> None:
    """model.keras through a temporary file and a rename, then the training record the same way."""
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}.", suffix=".keras")
    os.close(fd)
    try:
        model.save(tmp)
        os.replace(tmp, out)
    except OSError as err:
        raise EdgekitError(f"cannot write {str(out)!r}: {err.strerror}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    trained.write_json_atomic(trained.record_path(out), doc)
