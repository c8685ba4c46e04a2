"""The local targets ``edgekit bench`` measures directly: ``cpu`` (this machine) and ``gpu`` (its GPU).

Other targets (the Raspberry Pi and Coral boards) are measured over ssh or estimated; see targets.registry.
"""

from __future__ import annotations

from edgekit.errors import UsageError
from targets.registry import Reach, Target, TargetName, get_target

LOCAL = (TargetName.CPU, TargetName.GPU)


def local_target(name: str) -> Target:
    """The target named, if ``edgekit bench`` can measure it on this machine; else a UsageError."""
    target = get_target(name)
    if target.reach is not Reach.LOCAL:
        raise UsageError(f"target {target.name.value!r} is a remote device; edgekit bench measures the local "
                         f"targets ({', '.join(t.value for t in LOCAL)}) here")
    return target

