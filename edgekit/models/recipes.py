"""Training recipes: edgekit's defaults per architecture, as data. No Keras here.

A :class:`Recipe` holds what ``edgekit train`` uses when the user does not say otherwise: epochs, batch size,
learning rate (Adam, cosine decay to zero), augmentation, and the BatchNorm momentum used while training.

The momentum matters on small data. Keras' MobileNet v2 uses 0.999, so the moving statistics forget their
random start only after thousands of steps; digits gives about 36 steps an epoch, and a model that trains
well then collapses in inference mode. The recipe trains with a lower momentum and restores each layer's
own value before saving, so the saved architecture is the standard one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum

from edgekit.errors import UsageError, unknown_name
from edgekit.models.registry import ModelName


class Augment(str, Enum):
    """Keras preprocessing layers, active only while training."""

    FLIP = "flip"  # RandomFlip("horizontal")
    ROTATE = "rotate"  # RandomRotation(0.05): up to 18 degrees either way
    ZOOM = "zoom"  # RandomZoom(0.1)
    CONTRAST = "contrast"  # RandomContrast(0.2)
    SHIFT = "shift"  # RandomTranslation(0.1, 0.1)


AUGMENT_NAMES: tuple[str, ...] = tuple(a.value for a in Augment)


def parse_augment(text: str | None) -> tuple[Augment, ...] | None:
    """``"flip,rotate"`` -> (FLIP, ROTATE); ``"none"`` -> (); None -> None (the recipe's default)."""
    if text is None:
        return None
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    if names in ([], ["none"]):
        return ()
    out = []
    for name in names:
        if name not in AUGMENT_NAMES:
            raise unknown_name("augmentation", name, (*AUGMENT_NAMES, "none"))
        if Augment(name) not in out:
            out.append(Augment(name))
    return tuple(out)


@dataclass(frozen=True)
class Recipe:
    """Defaults for one architecture. ``bn_momentum`` None keeps the layers' own momentum."""

    epochs: int
    batch_size: int = 32
    lr: float = 1e-3
    augment: tuple[Augment, ...] = ()
    bn_momentum: float | None = None
    fine_tune_lr_factor: float = 0.1  # the second (--fine-tune-at) phase runs at lr times this

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise UsageError(f"a recipe needs epochs >= 1, batch size >= 1 and lr > 0, got {self}")
        if self.bn_momentum is not None and not 0.0 <= self.bn_momentum < 1.0:
            raise UsageError(f"bn_momentum must be in [0, 1), got {self.bn_momentum}")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["augment"] = [a.value for a in self.augment]
        return out


# Small sets such as digits: shifts of up to 10% only. No flip: a mirrored 2 is not a 2. Rotation and zoom
# (tried on digits) cost LeNet-5 a point of held-out accuracy against shifts alone.
_SMALL_DATA = (Augment.SHIFT,)

RECIPES: dict[ModelName, Recipe] = {
    ModelName.LENET5: Recipe(epochs=40, lr=2e-3, augment=_SMALL_DATA),
    ModelName.MOBILENET: Recipe(epochs=60, lr=2e-3, augment=_SMALL_DATA, bn_momentum=0.9),
    ModelName.MOBILENETV2: Recipe(epochs=40, lr=2e-3, augment=_SMALL_DATA, bn_momentum=0.9),
    ModelName.RESNET18: Recipe(epochs=10, lr=1e-3, augment=_SMALL_DATA, bn_momentum=0.9),
}
DEFAULT_RECIPE = Recipe(epochs=20, augment=_SMALL_DATA, bn_momentum=0.9)


def recipe_for(name: ModelName) -> Recipe:
    return RECIPES.get(name, DEFAULT_RECIPE)
