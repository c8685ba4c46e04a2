"""Built-in datasets as numpy arrays (no TensorFlow): the real images that run everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BUILTIN = ("digits",)


@dataclass(frozen=True)
class DataSource:
    """``--data``: the built-in ``digits``, or a folder with one subfolder per class."""

    origin: str  # where the images come from: "digits" (built in) or "folder"
    path: Path | None = None

    def describe(self) -> str:
        return str(self.path) if self.path else self.origin


def parse_data(text: str) -> DataSource:
    """``digits`` (unless a folder of that name exists) or a folder path; the folder is scanned later."""
    from edgekit.errors import UsageError

    if text.lower() in BUILTIN and not Path(text).is_dir():
        return DataSource(text.lower())
    path = Path(text).expanduser()
    if not path.is_dir():
        raise UsageError(f"--data {text!r} is neither a folder of class subfolders nor a built-in set "
                         f"({', '.join(BUILTIN)})")
    return DataSource("folder", path)
