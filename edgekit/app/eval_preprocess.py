"""How ``edgekit eval`` and ``edgekit study --data`` feed a Keras model not trained by edgekit: as
``edgekit convert`` does, from ``--preprocess``, else from the model's own first layer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def user_preprocess(text: str | None, say: Callable[[str], None] | None = None):
    """``path -> Preprocess | None`` for :func:`edgekit.models.evaluate.evaluate`: ``text`` (a --preprocess
    preset or ``mean=..,std=..``), else what the model's own first layer decides (``converters.own_preprocess``,
    said in one line through ``say``), else None (the evaluator then asks for --preprocess)."""
    from converters.preprocess import PRESETS, parse_preprocess

    given = parse_preprocess(text) if text else None

    def preprocess_of(path: Path):
        if given is not None:
            return given
        from converters.own_preprocess import own_preprocess

        own = own_preprocess(path)
        if own is None or not own.preset:
            return None
        if say is not None:
            say(f"{Path(path).name}: preprocess {own.preset}: {own.why}")
        return PRESETS[own.preset]

    return preprocess_of
