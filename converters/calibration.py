"""Calibration data: an image folder, or real images bundled with scikit-image and scikit-learn.

Every source yields raw pixels, float32 in 0..255 with the model's channel count, split into calibration
samples and held-out samples for the fidelity check. ``synthetic`` (uniform noise) exists only on request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekit import interrupt
from edgekit.errors import EdgekitError, UsageError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
BUILTIN = ("photos", "digits", "synthetic")
# The colour photographs that ship inside scikit-image (no download).
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina")
SEED = 0


@dataclass(frozen=True)
class CalibrationSpec:
    """``origin``, where the images come from: ``dir``, ``photos``, ``digits`` or ``synthetic``; ``path`` is set for
    ``dir``."""

    origin: str
    path: Path | None = None

    def key(self) -> str:
        """What the cache key needs: the origin, and for a folder its files' names, sizes and times."""
        if self.path is None:
            return self.origin
        h = hashlib.sha256(str(self.path.resolve()).encode())
        for f in image_files(self.path):
            st = f.stat()
            h.update(f"{f.relative_to(self.path)}:{st.st_size}:{st.st_mtime_ns}".encode())
        return f"dir:{h.hexdigest()[:16]}"

    def describe(self) -> str:
        return str(self.path) if self.path else self.origin


@dataclass(frozen=True)
class CalibrationSet:
    calibration: np.ndarray  # (N, H, W, C) raw pixels
    held_out: np.ndarray
    source: str
    held_out_source: str
    notes: tuple[str, ...] = field(default=())  # warnings for the user: skipped files, conversions


class Feed:
    """The representative dataset TensorFlow's converter reads: one sample at a time, counted.

    A sample counts once the converter asks for the next one, so ``taken`` is what it calibrated on. An exception
    raised while TensorFlow iterates (Ctrl-C, a failing progress callback) may just end the iteration there, and
    the converter would then quantize from fewer samples than the sidecar records: :meth:`require_all` refuses
    that model. A Ctrl-C that something swallowed stops the feed at the next sample (``edgekit.interrupt``).
    """

    def __init__(self, x: np.ndarray, progress: Callable[[int], None] | None = None):
        self.x, self.progress = x, progress
        self.passes: list[int] = []  # samples taken in each pass the converter made

    def __call__(self) -> Iterator[list[np.ndarray]]:
        self.passes.append(0)
        for i in range(len(self.x)):
            interrupt.check()
            yield [self.x[i:i + 1]]
            self.passes[-1] = i + 1
            if self.progress:
                self.progress(i + 1)

    def require_all(self) -> None:
        """Raise unless every pass the converter made took every sample."""
        interrupt.check()
        if not self.passes or min(self.passes) < len(self.x):
            taken = min(self.passes, default=0)
            raise EdgekitError(f"calibration stopped after {taken} of {len(self.x)} samples, so the model was not "
                               "written; run the conversion again")


def parse_calibration(text: str | None, channels: int) -> CalibrationSpec:
    """``None`` picks the default: ``photos`` for 3-channel models, ``digits`` for 1-channel ones."""
    if text is None:
        return CalibrationSpec("digits" if channels == 1 else "photos")
    if text.lower() in BUILTIN and not Path(text).is_dir():
        return CalibrationSpec(text.lower())
    path = Path(text).expanduser()
    if not path.is_dir():
        raise UsageError(f"--calibration {text!r} is neither a folder nor a built-in set ({', '.join(BUILTIN)})")
    if not image_files(path):
        raise _no_images(path)
    return CalibrationSpec("dir", path)


def _no_images(folder: Path) -> EdgekitError:
    return EdgekitError(f"calibration folder {str(folder)!r} has no images ({', '.join(IMAGE_SUFFIXES)}, "
                        "searched recursively); add some or use --calibration photos")


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def load(spec: CalibrationSpec, shape: tuple[int, int, int], samples: int, held_out: int) -> CalibrationSet:
    """Raw pixels for ``samples`` calibration inputs and up to ``held_out`` fidelity inputs of ``shape``."""
    h, w, c = shape
    if c not in (1, 3):
        raise UsageError(f"calibration images have 1 or 3 channels; the model takes {c}")
    if spec.origin == "dir":
        return _from_folder(spec.path, shape, samples, held_out)
    if spec.origin == "synthetic":
        rng = np.random.default_rng(SEED)
        x = rng.uniform(0, 255, (samples + held_out, h, w, c)).astype(np.float32)
        note = "synthetic calibration: random input, so the int8 ranges are not trustworthy; use real images"
        return CalibrationSet(x[:samples], x[samples:], "synthetic", "synthetic", (note,))
    make = photos if spec.origin == "photos" else digits
    cal, held = make((h, w), samples, SEED), make((h, w), held_out, SEED + 1)
    notes = ()
    if spec.origin == "digits" and c == 3:
        notes = ("digits are grayscale; converted to RGB for this 3-channel model",)
    return CalibrationSet(_channels(cal, c), _channels(held, c), spec.origin, spec.origin, notes)


def _channels(x: np.ndarray, c: int) -> np.ndarray:
    if x.shape[-1] == c:
        return x
    if c == 3:
        return np.repeat(x, 3, axis=-1)
    return (x @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]


def _resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    mode = "L" if img.shape[-1] == 1 else "RGB"
    out = Image.fromarray(img.squeeze(-1) if mode == "L" else img, mode).resize((size[1], size[0]),
                                                                                Image.BILINEAR)
    return np.asarray(out, np.float32).reshape(size[0], size[1], -1)


def photos(size: tuple[int, int], n: int, seed: int) -> np.ndarray:
    """``n`` random crops and flips of scikit-image's bundled colour photographs, as (n, H, W, 3)."""
    from edgekit.errors import import_extra

    skimage_data = import_extra("skimage.data", needed_for="the bundled calibration photographs")

    images = [getattr(skimage_data, name)() for name in PHOTOS]
    rng = np.random.default_rng(seed)
    out = np.empty((n, *size, 3), np.float32)
    for i in range(n):
        img = images[rng.integers(len(images))]
        side = int(min(img.shape[:2]) * rng.uniform(0.35, 1.0))
        y, x = rng.integers(img.shape[0] - side + 1), rng.integers(img.shape[1] - side + 1)
        crop = img[y:y + side, x:x + side]
        out[i] = _resize(np.ascontiguousarray(crop[:, ::-1] if rng.random() < 0.5 else crop), size)
    return out


def digits_pixels(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1797 handwritten digits upscaled to ``size``: pixels (N, H, W, 1) in 0..255, labels."""
    from edgekit.data import digits as data

    return data.pixels(size), data.labels()


def digits(size: tuple[int, int], n: int, seed: int) -> np.ndarray:
    """``n`` digits from the training pool, never the fixed test split that ``edgekit eval`` scores on.

    Seeds 0 and 1 draw from disjoint halves of the pool, so held-out digits are never calibrated on.
    """
    from edgekit.data import digits as data

    pool = data.split().pool
    order = np.random.default_rng(SEED).permutation(pool)
    half = order[: len(order) // 2] if seed == SEED else order[len(order) // 2:]
    return data.pixels(size)[np.sort(half[:n])]


def _from_folder(folder: Path, shape: tuple[int, int, int], samples: int, held_out: int) -> CalibrationSet:
    files = image_files(folder)
    if not files:
        raise _no_images(folder)
    images, bad, grey, notes = [], [], 0, []
    for f in files:
        if len(images) == samples + held_out:
            break
        img = _read_image(f, shape)
        if img is None:
            bad.append(f)
            continue
        grey += img.shape[-1] != shape[2]
        images.append(_resize(_channels(img, shape[2]).astype(np.uint8), shape[:2]))
    if bad:
        notes.append(f"skipped {len(bad)} unreadable or corrupt image file(s) in {str(folder)!r}, "
                     f"e.g. {bad[0].name}")
    if not images:
        raise EdgekitError(f"none of the {len(files)} image files in {str(folder)!r} could be read "
                           f"({len(bad)} corrupt or unreadable); check the files or use --calibration photos")
    if grey:
        notes.append(f"converted {grey} grayscale image(s) to RGB for this 3-channel model")
    x = np.stack(images)
    if len(x) <= samples:
        if len(x) < samples:
            notes.append(f"calibrating on the {len(x)} readable images in the folder (fewer than --samples)")
        held = photos(shape[:2], held_out, SEED + 1) if shape[2] == 3 else digits(shape[:2], held_out, SEED + 1)
        source = "photos" if shape[2] == 3 else "digits"
        notes.append(f"no images left over for the fidelity check; using the built-in {source} set")
        return CalibrationSet(x, _channels(held, shape[2]), str(folder), source, tuple(notes))
    return CalibrationSet(x[:samples], x[samples:], str(folder), str(folder), tuple(notes))


def _read_image(path: Path, shape: tuple[int, int, int]) -> np.ndarray | None:
    """The image as uint8 (H, W, 1 or 3), None if unreadable; a colour image for a 1-channel model is refused."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            colour = img.mode not in ("1", "L", "LA", "I", "I;16", "F") and not (
                img.mode == "P" and _palette_is_grey(img))
            if colour and shape[2] == 1:
                raise UsageError(f"calibration image {str(path)!r} is colour ({img.mode}) but the model takes "
                                 "1 channel; use grayscale images or a 3-channel model")
            arr = np.asarray(img.convert("RGB" if colour else "L"))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    return arr.reshape(*arr.shape[:2], -1)


def _palette_is_grey(img) -> bool:
    rgb = np.asarray(img.convert("RGB"))
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
