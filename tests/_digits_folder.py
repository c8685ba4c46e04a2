"""Build image folders from scikit-learn's digits for the train/eval tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_digits_folder(root: Path, per_class: int = 40, classes: int = 10, rgb: bool = False,
                        junk: bool = True) -> Path:
    """``root/<digit>/<i>.png`` from real digits (8x8 upscaled to 16x16), plus a corrupt PNG and a text file."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (data.images * (255 / 16)).astype(np.uint8)
    for c in range(classes):
        (root / str(c)).mkdir(parents=True, exist_ok=True)
        for i, idx in enumerate(np.flatnonzero(data.target == c)[:per_class]):
            img = Image.fromarray(images[idx], "L").resize((16, 16), Image.BILINEAR)
            (img.convert("RGB") if rgb else img).save(root / str(c) / f"{i:03d}.png")
    if junk:
        (root / str(classes - 1) / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not really a png")
        (root / "0" / "notes.txt").write_text("not an image\n")
    return root
