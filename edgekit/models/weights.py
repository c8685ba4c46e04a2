"""Where pretrained weights come from. edgekit never downloads: ImageNet weights come from the Keras cache."""

from __future__ import annotations

import os
from pathlib import Path

from edgekit.errors import UsageError, WeightsNotFoundError
from edgekit.models.registry import ModelName, ModelSpec


def keras_cache_dir() -> Path:
    """The folder Keras keeps downloaded weights in: ``$KERAS_HOME/models``, else ``~/.keras/models``."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "models"


def imagenet_filename(spec: ModelSpec, input_shape: tuple[int, int, int], include_top: bool, alpha: float) -> str:
    """The file name ``keras.applications`` gives this model's ImageNet weights."""
    rows = input_shape[0]
    top = "" if include_top else "_notop"
    match spec.name:
        case ModelName.VGG16 | ModelName.RESNET50:
            return f"{spec.name.value}_weights_tf_dim_ordering_tf_kernels{top}.h5"
        case ModelName.INCEPTIONV3:
            return f"inception_v3_weights_tf_dim_ordering_tf_kernels{top}.h5"
        case ModelName.MOBILENET:
            text = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}[alpha]
            return f"mobilenet_{text}_{rows}_tf{'' if include_top else '_no_top'}.h5"
        case ModelName.MOBILENETV2:
            return (f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
                    f"{'' if include_top else '_no_top'}.h5")
    raise AssertionError(spec.name)  # unreachable: callers check keras_application first


def resolve_weights(spec: ModelSpec, weights: str | os.PathLike | None, input_shape: tuple[int, int, int],
                    classes: int, include_top: bool, arch: dict) -> Path | None:
    """Turn the ``weights`` argument into a file to load, or None for random initialisation."""
    if weights is None or str(weights).lower() == "none":
        return None
    if str(weights).lower() != "imagenet":
        path = Path(weights).expanduser()
        if not path.is_file():
            raise WeightsNotFoundError(f"weights file {str(path)!r} not found; pass an existing file, "
                                       "'imagenet', or none")
        return path
    name = spec.name.value
    if spec.keras_application is None:
        raise UsageError(f"{name} has no ImageNet weights in keras.applications; use --weights none or a file")
    if include_top and classes != 1000:
        raise UsageError(f"{name}: ImageNet weights with the classifier need classes=1000, got {classes}; "
                         "pass --classes 1000 or drop the top")
    if input_shape[2] != 3:
        raise UsageError(f"{name}: ImageNet weights need 3 input channels, got {input_shape[2]}")
    alpha = arch.get("alpha", 1.0)
    if spec.imagenet_alphas and alpha not in spec.imagenet_alphas:
        raise UsageError(f"{name}: ImageNet weights exist for alpha in {list(spec.imagenet_alphas)}, got {alpha}")
    if arch.get("depth_multiplier", 1) != 1:
        raise UsageError(f"{name}: ImageNet weights need depth_multiplier=1")
    if spec.name in (ModelName.MOBILENET, ModelName.MOBILENETV2) and input_shape[0] not in (96, 128, 160, 192, 224):
        raise UsageError(f"{name}: ImageNet weights exist for input sizes 96, 128, 160, 192 and 224, "
                         f"got {input_shape[0]}")
    if include_top and spec.name not in (ModelName.MOBILENET, ModelName.MOBILENETV2) \
            and input_shape != spec.default_input:
        raise UsageError(f"{name}: ImageNet weights with the classifier need input {spec.default_input}, "
                         f"got {input_shape}")
    path = keras_cache_dir() / imagenet_filename(spec, input_shape, include_top, alpha)
    if not path.is_file():
        raise WeightsNotFoundError(
            f"ImageNet weights for {name} are not in the Keras cache and edgekit does not download; "
            f"put the file {path.name} in {path.parent}/ (keras.applications.{spec.keras_application} "
            "downloads it there), or pass --weights PATH"
        )
    return path
