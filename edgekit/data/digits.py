"""scikit-learn's bundled handwritten digits: 1,797 real 8x8 grayscale images of 0-9, no download.

Pixels are upscaled with PIL's bilinear filter to the model's input size and returned as float32 in 0..255,
shape (N, H, W, 1). The held-out test split is fixed (20%, stratified, seed 0), so every model trained by
edgekit on ``digits`` is judged on the same 359 images; training and validation draw from the other
1,438 (see :func:`split`), and so should int8 calibration.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

CLASS_NAMES = tuple(str(d) for d in range(10))
TEST_FRACTION = 0.2
TEST_SEED = 0


class Split(NamedTuple):
    """Indices into :func:`pixels`: the pool for training and validation, and the fixed test set."""

    pool: np.ndarray
    test: np.ndarray


def labels() -> np.ndarray:
    """The 1,797 labels, 0..9, in dataset order."""
    return _raw()[1]


def pixels(size: tuple[int, int]) -> np.ndarray:
    """All 1,797 digits upscaled to ``size`` (height, width): float32 (N, H, W, 1) in 0..255."""
    return _upscaled(tuple(int(s) for s in size)).copy()


def split() -> Split:
    """The fixed stratified split: 20% of each class held out for testing, chosen with seed 0."""
    y = labels()
    rng = np.random.default_rng(TEST_SEED)
    test = []
    for c in range(len(CLASS_NAMES)):
        members = np.flatnonzero(y == c)
        test.append(rng.permutation(members)[: round(len(members) * TEST_FRACTION)])
    test_idx = np.sort(np.concatenate(test))
    return Split(np.setdiff1d(np.arange(len(y)), test_idx), test_idx)


def train_val(val_split: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle the pool with ``seed`` and cut ``val_split`` of it off for validation; disjoint index arrays."""
    pool = np.random.default_rng(seed).permutation(split().pool)
    n_val = max(1, round(len(pool) * val_split))
    return np.sort(pool[n_val:]), np.sort(pool[:n_val])


@lru_cache(maxsize=1)
def _raw() -> tuple[np.ndarray, np.ndarray]:
    from edgekit.errors import import_extra

    data = import_extra("sklearn.datasets", needed_for="the bundled digits data set").load_digits()
    return (data.images * (255.0 / 16.0)).astype(np.uint8), data.target.astype(np.int64)


@lru_cache(maxsize=4)
def _upscaled(size: tuple[int, int]) -> np.ndarray:
    from edgekit.errors import import_extra

    Image = import_extra("PIL.Image", needed_for="resizing images")
    out = np.empty((len(_raw()[0]), *size, 1), np.float32)
    for i, img in enumerate(_raw()[0]):
        out[i, ..., 0] = np.asarray(Image.fromarray(img, "L").resize((size[1], size[0]), Image.BILINEAR))
    return out
