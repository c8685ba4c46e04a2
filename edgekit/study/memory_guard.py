"""The study's memory guard: a zoo model whose conversion would need more memory than this machine has is left out
before anything starts (``converters.memory``), with the one line that says why."""

from __future__ import annotations

from collections.abc import Callable

from edgekit.study.forecast import weight_bytes_hint
from edgekit.study.plan import StudyPlan


def memory_skips(plan: StudyPlan, converted: Callable[[str, str], bool]) -> dict[str, str]:
    """Models whose conversion is expected to need more memory than is available: model -> the one line that says
    so (``converters.memory``). ``converted(model, quant)`` is True for files already there, which cost nothing."""
    from converters import memory

    out = {}
    for model in plan.models:
        if plan.user_model(model) is not None:  # a user's model: no published size to check it by
            continue
        todo = [q for q in plan.quants if not converted(model, q)]
        checks = [memory.check(model, q, weight_bytes_hint(model)) for q in todo]
        worst = max(checks, key=lambda c: c.need, default=None)
        if worst is not None and not worst.fits:
            out[model] = worst.message()
    return out
