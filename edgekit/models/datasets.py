"""tf.data pipelines for training and evaluation, from ``digits`` or an image folder.

A folder is read with ``keras.utils.image_dataset_from_directory``: one call for the training subset and one
for the validation subset, with the same ``seed`` and ``validation_split``, so the two cannot overlap. When
the PIL pre-scan (:mod:`edgekit.data.folder`) finds corrupt files, the calls read a temporary mirror of
symbolic links to the readable files instead, because TensorFlow stops at the first file it cannot decode.
Pipelines are ``cache()`` then ``shuffle`` (training), ``batch``, augmentation (training only),
preprocessing and ``prefetch(AUTOTUNE)``.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from edgekit import tempdirs
from edgekit.data import DataSource, digits, folder
from edgekit.errors import EdgekitError, UsageError
from edgekit.models._keras import keras
from edgekit.models._tf import tensorflow
from edgekit.models.recipes import Augment
from edgekit.models.registry import Preprocess


@dataclass(frozen=True)
class TrainData:
    train: object  # tf.data.Dataset of (preprocessed batch, int labels)
    val: object
    class_names: tuple[str, ...]
    channels: int
    train_count: int
    val_count: int
    train_files: tuple[str, ...] = ()  # folder sources only: what each subset read
    val_files: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class EvalData:
    x: np.ndarray  # raw pixels, float32 0..255, (N, H, W, C)
    y: np.ndarray
    class_names: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())


def data_channels(source: DataSource) -> int:
    """1 for grayscale data (digits, or a folder of grayscale images), else 3."""
    return 1 if source.origin == "digits" else folder.scan(source.path).channels


@contextlib.contextmanager
def train_val(source: DataSource, size: tuple[int, int], channels: int, val_split: float, seed: int,
              batch_size: int, preprocess: Preprocess, augment: tuple[Augment, ...] = ()) -> Iterator[TrainData]:
    """The training and validation pipelines; the context keeps any temporary folder mirror alive."""
    if source.origin == "digits":
        tr, va = digits.train_val(val_split, seed)
        x, y = _digits(size, channels), digits.labels()
        raw = _from_arrays(x[tr], y[tr]), _from_arrays(x[va], y[va])
        data = TrainData(None, None, digits.CLASS_NAMES, channels, len(tr), len(va))
        yield _pipelines(data, raw, seed, batch_size, preprocess, augment)
        return
    scan = folder.scan(source.path)
    with _readable(scan) as root:
        kw = {"labels": "inferred", "label_mode": "int", "class_names": list(scan.classes), "batch_size": None,
              "color_mode": "grayscale" if channels == 1 else "rgb", "image_size": size, "seed": seed,
              "validation_split": val_split, "verbose": False}
        if channels == 1 and scan.channels == 3:
            raise _channel_error(1, scan)
        train = _from_directory(root, subset="training", **kw)
        val = _from_directory(root, subset="validation", **kw)
        files = tuple(train.file_paths), tuple(val.file_paths)
        if not files[0] or not files[1]:
            raise UsageError(f"--val-split {val_split} leaves {len(files[0])} training and {len(files[1])} "
                             f"validation images of {len(scan.files)}; add images or change --val-split")
        notes = _notes(scan, channels)
        data = TrainData(None, None, scan.classes, channels, len(files[0]), len(files[1]), *files, notes)
        yield _pipelines(data, (train, val), seed, batch_size, preprocess, augment)


def eval_data(source: DataSource, split: str, size: tuple[int, int], channels: int, val_split: float,
              seed: int) -> EvalData:
    """Raw pixels and labels: ``test`` is digits' held-out set or a whole folder; ``val`` the validation subset."""
    if split not in ("val", "test"):
        raise UsageError(f"--split must be val or test, got {split!r}")
    if source.origin == "digits":
        idx = digits.split().test if split == "test" else digits.train_val(val_split, seed)[1]
        note = ("digits are grayscale; repeated to RGB for this 3-channel model",) if channels == 3 else ()
        return EvalData(_digits(size, channels)[idx], digits.labels()[idx], digits.CLASS_NAMES, note)
    scan = folder.scan(source.path)
    if channels == 1 and scan.channels == 3:
        raise _channel_error(1, scan)
    with _readable(scan) as root:
        kw = {"labels": "inferred", "label_mode": "int", "class_names": list(scan.classes), "batch_size": 64,
              "color_mode": "grayscale" if channels == 1 else "rgb", "image_size": size, "verbose": False}
        if split == "val":
            kw.update(seed=seed, validation_split=val_split, subset="validation")
        else:
            kw.update(shuffle=False)
        ds = _from_directory(root, **kw)
        xs, ys = zip(*((x.numpy(), y.numpy()) for x, y in ds), strict=True)
    return EvalData(np.concatenate(xs).astype(np.float32), np.concatenate(ys), scan.classes,
                    _notes(scan, channels))


def _from_directory(root: Path, **kw):
    """``image_dataset_from_directory``, with its "Found N files" lines kept off stdout (--json owns it)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return keras().utils.image_dataset_from_directory(str(root), **kw)


def _digits(size: tuple[int, int], channels: int) -> np.ndarray:
    x = digits.pixels(size)
    return np.repeat(x, 3, axis=-1) if channels == 3 else x


def _from_arrays(x: np.ndarray, y: np.ndarray):
    tf = tensorflow()

    return tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32)))


def _pipelines(data: TrainData, raw: tuple, seed: int, batch_size: int, preprocess: Preprocess,
               augment: tuple[Augment, ...]) -> TrainData:
    tf = tensorflow()

    aug = augmentation(augment, seed)
    pre = _preprocess_fn(preprocess)
    train = raw[0].cache().shuffle(data.train_count, seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    if aug is not None:
        train = train.map(lambda x, y: (aug(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    train = train.map(lambda x, y: (pre(x), y)).prefetch(tf.data.AUTOTUNE)
    val = raw[1].cache().batch(batch_size).map(lambda x, y: (pre(x), y)).prefetch(tf.data.AUTOTUNE)
    return replace(data, train=train, val=val)


def augmentation(augment: tuple[Augment, ...], seed: int):
    """A Keras Sequential of the chosen preprocessing layers on 0..255 pixels, or None."""
    if not augment:
        return None
    layers = keras().layers
    make = {Augment.FLIP: lambda: layers.RandomFlip("horizontal", seed=seed),
            Augment.ROTATE: lambda: layers.RandomRotation(0.05, fill_mode="constant", seed=seed),
            Augment.ZOOM: lambda: layers.RandomZoom(0.1, fill_mode="constant", seed=seed),
            Augment.CONTRAST: lambda: layers.RandomContrast(0.2, seed=seed),
            Augment.SHIFT: lambda: layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=seed)}
    return keras().Sequential([make[a]() for a in augment], name="augmentation")


def _preprocess_fn(pre: Preprocess):
    tf = tensorflow()

    lo, hi = pre.input_range
    mean, std = np.asarray(pre.mean, np.float32), np.asarray(pre.std, np.float32)

    def apply(x):
        x = lo + tf.cast(x, tf.float32) * ((hi - lo) / 255.0)
        if pre.channel_order.upper() == "BGR" and x.shape[-1] == 3:
            x = x[..., ::-1]
        return (x - mean) / std

    return apply


def _notes(scan: folder.FolderScan, channels: int) -> tuple[str, ...]:
    notes = [w for w in (scan.warning(),) if w]
    if channels == 3 and scan.channels == 1:
        notes.append("the images are grayscale; read as RGB for this 3-channel model")
    return tuple(notes)


def _channel_error(model_channels: int, scan: folder.FolderScan) -> UsageError:
    return UsageError(f"the model takes {model_channels}-channel input but {str(scan.root)!r} has colour images; "
                      "use a 3-channel model or grayscale images")


@contextlib.contextmanager
def _readable(scan: folder.FolderScan) -> Iterator[Path]:
    """The folder itself, or, when it holds corrupt images, a temporary mirror of links to the readable ones."""
    if not scan.corrupt:
        yield scan.root
        return
    with tempfile.TemporaryDirectory(prefix=tempdirs.prefix("data")) as tmp:
        for path, label in scan.files:
            link = Path(tmp) / scan.classes[label] / path.relative_to(scan.root / scan.classes[label])
            link.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.symlink(path.resolve(), link)
            except OSError as err:
                raise EdgekitError(f"cannot mirror the readable images of {str(scan.root)!r}: {err}") from None
        yield Path(tmp)
