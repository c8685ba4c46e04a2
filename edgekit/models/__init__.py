"""The model zoo: one builder per architecture, behind one uniform ``build`` and one registry.

``build(name, input_shape=None, classes=None, include_top=True, weights=None, **arch_args)`` returns a
``keras.Model``. Keras is imported on the first build, never on import of this package.
"""

from __future__ import annotations

import importlib
import os

from edgekit.errors import ModelFileError, UsageError, first_line
from edgekit.models.io import load_model
from edgekit.models.registry import MODEL_NAMES, REGISTRY, ModelName, ModelSpec, Preprocess, get_spec
from edgekit.models.weights import resolve_weights

__all__ = ["MODEL_NAMES", "REGISTRY", "ModelName", "ModelSpec", "Preprocess", "build", "get_spec", "load_model"]


def build(name: str | ModelName, input_shape: tuple[int, int, int] | int | None = None,
          classes: int | None = None, include_top: bool = True, weights: str | os.PathLike | None = None,
          **arch_args):
    """Build a zoo model.

    Args:
        name: a registry name, e.g. ``"mobilenetv2"``.
        input_shape: ``(height, width, channels)``, a square size ``N``, or None for the model's default.
        classes: classifier width; None means the model's default (1000, or 10 for LeNet-5).
        include_top: keep the classifier; without it the model ends at the last feature map.
        weights: None (random), ``"imagenet"`` (from the Keras cache only), or a weights file path.
        **arch_args: the architecture's own arguments, e.g. ``alpha``; see ``ModelSpec.arch_args``.

    Raises:
        UsageError: an unknown name, or an argument the architecture cannot take.
        WeightsNotFoundError: ImageNet weights missing from the cache (names the file and the folder).
    """
    spec = get_spec(name)
    shape = spec.input_shape(input_shape)
    arch = spec.validate_arch_args({k: v for k, v in arch_args.items() if v is not None})
    classes = spec.default_classes if classes is None else classes
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise UsageError(f"{spec.name.value}: classes must be a positive whole number, got {classes!r}")
    weights_path = resolve_weights(spec, weights, shape, classes, include_top, arch)
    module = importlib.import_module(f"edgekit.models.{spec.module}")
    model = getattr(module, spec.name.value)(shape, classes, include_top, **arch)
    if weights_path is not None:
        try:
            model.load_weights(str(weights_path))
        except Exception as err:  # Keras raises many types for a file that does not fit
            raise ModelFileError(f"could not load weights {str(weights_path)!r} into {spec.name.value}: "
                                 f"{first_line(err)}") from None
    return model
