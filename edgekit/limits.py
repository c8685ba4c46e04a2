"""Numbers a user gives (counts, sizes, seconds): each refused with one line that names the option, what was
received and what is allowed, before any work starts.

A float must be finite: ``nan`` compares False with everything, so ``value < 0`` lets it through, and ``inf``
never ends a loop that waits for it. A whole number must fit what reads it: a C ``int`` (``INT32_MAX``), SQLite's
64-bit integers (``INT64_MAX``), a TCP port.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

from edgekit.errors import UsageError

INT32_MAX = 2**31 - 1  # a C int: TFLite's num_threads, Keras/TF shapes and counts
INT64_MAX = 2**63 - 1  # SQLite's INTEGER
PORT_MAX = 65535
# A square input past 8192 gives feature maps near 2**31 elements (8192 x 8192 x 32), the most TFLite's int32
# sizes count.
MAX_INPUT_SIZE = 8192


def whole(option: str, value: int | None, *, low: int = 1, high: int = INT32_MAX, why: str = "") -> int | None:
    """``value`` when it is a whole number from ``low`` to ``high`` (None passes: the default); else a UsageError
    naming ``option``. ``why``: what the limits come from, said after them."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or not low <= value <= high:
        raise UsageError(f"{option} must be a whole number from {low} to {high}, got {_shown(value)}{_why(why)}")
    return int(value)


def finite(option: str, value: float | None, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, what: str = "a number", why: str = "") -> float | None:
    """``value`` when it is a finite number within ``low`` (excluded when ``low_open``) and ``high`` (None passes);
    else a UsageError naming ``option``. ``what``: the kind of number ("a number of seconds"; "" for none)."""
    if value is None:
        return None
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (low is None or (value > low if low_open else value >= low)) and (high is None or value <= high)
    if not ok:
        allowed = " ".join(filter(None, (what, _range(low, high, low_open))))
        raise UsageError(f"{option} must be {allowed}, got {_shown(value)}{_why(why)}")
    return float(value)


def _range(low: float | None, high: float | None, low_open: bool) -> str:
    if low is not None and high is not None:
        return f"> {_num(low)} and <= {_num(high)}" if low_open else f"from {_num(low)} to {_num(high)}"
    if low is not None:
        return f"{'>' if low_open else '>='} {_num(low)} and finite"
    return f"<= {_num(high)} and finite" if high is not None else "that is finite"


def _num(limit: float) -> str:
    """A limit as people write it: 2000000, not 2e+06."""
    return str(int(limit)) if float(limit).is_integer() else f"{limit:g}"


def _shown(value) -> str:
    return repr(value) if isinstance(value, float | str) else str(value)


def _why(why: str) -> str:
    return f" ({why})" if why else ""
