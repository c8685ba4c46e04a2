"""Scan an image folder (one subfolder per class) with PIL before TensorFlow reads it; no TensorFlow here.

``keras.utils.image_dataset_from_directory`` stops at the first file it cannot decode, so edgekit opens every
file once first: readable images are kept, corrupt files and files that are not images are counted and
skipped, and the folder's colour mode (grayscale or RGB) is decided from what is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import EdgekitError, UsageError

IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # what image_dataset_from_directory reads
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


@dataclass(frozen=True)
class FolderScan:
    """What is usable in a class-per-subfolder image folder, and what was skipped."""

    root: Path
    classes: tuple[str, ...]
    files: tuple[tuple[Path, int], ...]  # (readable image, class index), sorted by path
    corrupt: tuple[Path, ...]  # an image suffix, but PIL cannot decode it
    not_images: tuple[Path, ...]  # other files, including any outside a class folder
    channels: int  # 1 when every readable image is grayscale, else 3

    @property
    def skipped(self) -> int:
        return len(self.corrupt) + len(self.not_images)

    def warning(self) -> str | None:
        """The one-line warning about skipped files, or None when nothing was skipped."""
        if not self.skipped:
            return None
        example = (self.corrupt or self.not_images)[0]
        return (f"skipped {self.skipped} file(s) in {str(self.root)!r}: {len(self.corrupt)} corrupt or unreadable "
                f"image(s), {len(self.not_images)} not image(s) (e.g. {example.relative_to(self.root)})")


def scan(folder: str | Path) -> FolderScan:
    """Open every file under ``folder`` once. Needs two or more class subfolders with readable images.

    Raises:
        UsageError: not a folder, or fewer than two classes.
        EdgekitError: no readable image at all.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise UsageError(f"--data {str(folder)!r} is neither a folder nor a built-in set (digits)")
    classes = tuple(sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")))
    if len(classes) < 2:
        found = f"only {classes[0]!r}" if classes else "none"
        raise UsageError(f"--data {str(root)!r} needs at least two class subfolders (one per class, images "
                         f"inside); found {found}")
    files, corrupt, other, grey = [], [], [], True
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if path.suffix.lower() not in IMAGE_SUFFIXES or len(rel.parts) < 2 or rel.parts[0] not in classes:
            other.append(path)
            continue
        mode = _image_mode(path)
        if mode is None:
            corrupt.append(path)
            continue
        grey &= mode in _GREY_MODES
        files.append((path, classes.index(rel.parts[0])))
    if not files:
        raise EdgekitError(f"no readable images in {str(root)!r} ({len(corrupt)} corrupt, {len(other)} other "
                           f"files); expected {', '.join(IMAGE_SUFFIXES)} files in class subfolders")
    return FolderScan(root, classes, tuple(files), tuple(corrupt), tuple(other), 1 if grey else 3)


def _image_mode(path: Path) -> str | None:
    """The PIL mode of a fully decodable image, or None."""
    from edgekit.errors import import_extra

    pil = import_extra("PIL.Image", needed_for="reading an image folder")
    Image, UnidentifiedImageError = pil, pil.UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            return img.mode
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
