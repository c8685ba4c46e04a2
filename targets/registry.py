"""The target registry: look a target up by name among the built-in ones (``targets.builtin``) and the user's
TOML targets (``targets.userfile``). It sits above both, so neither imports the other in a circle.
"""

from __future__ import annotations

from edgekit.errors import unknown_name
from targets.builtin import (
    A53_CPU,
    ALIASES,
    EDGE_TPU_PCIE,
    EDGE_TPU_USB,
    EDGE_TPU_USB_ON_RPI4,
    REGISTRY,
    RPI4_CPU,
    RPI5_CPU,
    TARGET_NAMES,
)
from targets.records import (
    AcceleratorFigures,
    CoreCluster,
    CpuFigures,
    McuFigures,
    Method,
    Phone,
    Reach,
    Target,
    TargetName,
)
from targets.userfile import find_user_target, load_user_targets, user_target_names

__all__ = ["A53_CPU", "ALIASES", "EDGE_TPU_PCIE", "EDGE_TPU_USB", "EDGE_TPU_USB_ON_RPI4", "REGISTRY", "RPI4_CPU",
           "RPI5_CPU", "TARGET_NAMES", "AcceleratorFigures", "CoreCluster", "CpuFigures", "McuFigures", "Method",
           "Phone", "Reach", "Target", "TargetName", "all_targets", "get_target"]


def get_target(name: str | TargetName) -> Target:
    """Look a target up by name or alias, then among the user's TOML targets; a name ending in ``.toml`` is a
    target file (``--target myphone.toml``).

    Raises:
        UsageError: an unknown name (listing the known ones, with "did you mean").
        TargetFileError: a user target file that exists but is invalid.
    """
    if str(name).endswith(".toml"):
        from targets.userfile import load_target_file

        return load_target_file(str(name))
    key = str(getattr(name, "value", name)).lower()
    if key in ALIASES:
        return REGISTRY[ALIASES[key]]
    try:
        return REGISTRY[TargetName(key)]
    except ValueError:
        pass
    found = find_user_target(key)
    if found is not None:
        return found
    raise unknown_name("target", str(name), TARGET_NAMES + tuple(ALIASES) + user_target_names()) from None


def all_targets() -> list[Target]:
    """Built-in targets, then every valid user target (an invalid file raises TargetFileError)."""
    return list(REGISTRY.values()) + load_user_targets()
