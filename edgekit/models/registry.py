"""The model registry: one frozen record per architecture, keyed by a ``str`` Enum.

The same records drive the CLI choices, argument validation, "did you mean", the README table and the
parametrized tests. Nothing here imports Keras.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

from edgekit.errors import UsageError, unknown_name


class ModelName(str, Enum):
    LENET5 = "lenet5"
    ALEXNET = "alexnet"
    VGG16 = "vgg16"
    RESNET18 = "resnet18"
    RESNET34 = "resnet34"
    RESNET50 = "resnet50"
    GOOGLENET = "googlenet"
    INCEPTIONV3 = "inceptionv3"
    MOBILENET = "mobilenet"
    MOBILENETV2 = "mobilenetv2"


@dataclass(frozen=True)
class Preprocess:
    """How raw pixels in ``input_range`` become model input: ``(x[..., channel_order] - mean) / std``."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    channel_order: str = "RGB"
    input_range: tuple[float, float] = (0.0, 255.0)

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std), "channel_order": self.channel_order,
                "input_range": list(self.input_range)}

    @classmethod
    def from_dict(cls, doc: dict) -> Preprocess:
        return cls(tuple(doc["mean"]), tuple(doc["std"]), doc["channel_order"], tuple(doc["input_range"]))

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        """Raw 0..255 pixels (N, H, W, C) to model input, as float32."""
        import numpy as np  # here, so that the CLI's start-up does not pay for numpy

        lo, hi = self.input_range
        x = lo + pixels.astype(np.float32) * np.float32((hi - lo) / 255.0)
        if self.channel_order.upper() == "BGR" and x.shape[-1] == 3:
            x = x[..., ::-1]
        return ((x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)).astype(np.float32)


# keras.applications' "tf" mode (MobileNets, Inception) and "caffe" mode (VGG, ResNet-50).
TF_PREPROCESS = Preprocess(mean=(127.5,), std=(127.5,))
CAFFE_PREPROCESS = Preprocess(mean=(103.939, 116.779, 123.68), std=(1.0,), channel_order="BGR")


@dataclass(frozen=True)
class ArchArg:
    """An architecture argument a builder accepts, with its allowed range ``(low, high]``."""

    name: str
    default: float
    low: float
    high: float
    integer: bool = False
    help: str = ""

    def validate(self, model: str, value: float) -> float | int:
        if self.integer and (isinstance(value, bool) or int(value) != value):
            raise UsageError(f"{model}: {self.name} must be a whole number, got {value!r}")
        if not self.low < value <= self.high:
            raise UsageError(
                f"{model}: {self.name}={value!r} is outside what the builder supports: "
                f"{self.name} must be > {self.low:g} and <= {self.high:g} ({self.help})"
            )
        return int(value) if self.integer else float(value)


ALPHA_V1 = ArchArg("alpha", 1.0, 0.0, 2.0,
                   help="width multiplier; the paper uses 0.25, 0.5, 0.75 and 1.0")
DEPTH_MULTIPLIER = ArchArg("depth_multiplier", 1, 0, 8, integer=True,
                           help="channel multiplier of the depthwise convolutions, 1 in the paper")
ALPHA_V2 = ArchArg("alpha", 1.0, 0.0, 2.0,
                   help="width multiplier; the paper and ImageNet weights use 0.35 to 1.4")


@dataclass(frozen=True)
class ModelSpec:
    """One architecture: where its builder lives, its defaults, limits and preprocessing."""

    name: ModelName
    title: str
    paper: str
    module: str  # the builder module under edgekit.models, imported lazily
    default_input: tuple[int, int, int]
    min_size: int  # smallest height and width the architecture can take
    default_classes: int = 1000
    arch_args: tuple[ArchArg, ...] = ()
    preprocess: Preprocess = TF_PREPROCESS
    keras_application: str | None = None  # the keras.applications twin, when there is one
    imagenet_alphas: tuple[float, ...] = field(default=())

    def input_shape(self, input_shape: tuple[int, ...] | int | None) -> tuple[int, int, int]:
        """Resolve and validate an input shape: None (default), N (square, default channels) or (H, W, C)."""
        if input_shape is None:
            return self.default_input
        if isinstance(input_shape, int):
            input_shape = (input_shape, input_shape, self.default_input[2])
        shape = tuple(input_shape)
        if len(shape) != 3 or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
            raise UsageError(f"{self.name.value}: input_shape must be (height, width, channels), got {shape!r}")
        h, w, c = shape
        if c < 1:
            raise UsageError(f"{self.name.value}: input channels must be at least 1, got {c}")
        if min(h, w) < self.min_size:
            raise UsageError(
                f"{self.name.value}: input size {h}x{w} is too small; the architecture needs at least "
                f"{self.min_size}x{self.min_size} (use --input-size {self.min_size} or larger)"
            )
        return (h, w, c)

    def validate_arch_args(self, given: dict) -> dict:
        """Fill in defaults and validate each architecture argument; refuse ones this model lacks."""
        allowed = {a.name: a for a in self.arch_args}
        for key in given:
            if key not in allowed:
                can = ", ".join(allowed) or "none"
                raise UsageError(f"{self.name.value} does not take {key!r}; its architecture arguments: {can}")
        return {name: arg.validate(self.name.value, given.get(name, arg.default)) for name, arg in allowed.items()}


_IMAGENET = "random-initialised by default; --weights imagenet loads the keras.applications weights"

REGISTRY: dict[ModelName, ModelSpec] = {
    s.name: s
    for s in (
        ModelSpec(ModelName.LENET5, "LeNet-5", "LeCun et al. 1998, Gradient-based learning applied to "
                  "document recognition", "lenet5", (32, 32, 1), 16, default_classes=10),
        ModelSpec(ModelName.ALEXNET, "AlexNet", "Krizhevsky et al. 2012, ImageNet classification with deep "
                  "convolutional neural networks", "alexnet", (227, 227, 3), 67),
        ModelSpec(ModelName.VGG16, "VGG-16", "Simonyan & Zisserman 2014, Very deep convolutional networks "
                  "for large-scale image recognition (arXiv:1409.1556)", "vgg16", (224, 224, 3), 32,
                  preprocess=CAFFE_PREPROCESS, keras_application="VGG16"),
        ModelSpec(ModelName.RESNET18, "ResNet-18", "He et al. 2016, Deep residual learning for image "
                  "recognition (arXiv:1512.03385)", "resnet", (224, 224, 3), 32),
        ModelSpec(ModelName.RESNET34, "ResNet-34", "He et al. 2016 (arXiv:1512.03385)", "resnet",
                  (224, 224, 3), 32),
        ModelSpec(ModelName.RESNET50, "ResNet-50", "He et al. 2016 (arXiv:1512.03385)", "resnet",
                  (224, 224, 3), 32, preprocess=CAFFE_PREPROCESS, keras_application="ResNet50"),
        ModelSpec(ModelName.GOOGLENET, "GoogLeNet (Inception v1)", "Szegedy et al. 2015, Going deeper with "
                  "convolutions (arXiv:1409.4842)", "googlenet", (224, 224, 3), 32),
        ModelSpec(ModelName.INCEPTIONV3, "Inception v3", "Szegedy et al. 2016, Rethinking the Inception "
                  "architecture for computer vision (arXiv:1512.00567)", "inceptionv3", (299, 299, 3), 75,
                  keras_application="InceptionV3"),
        ModelSpec(ModelName.MOBILENET, "MobileNet v1", "Howard et al. 2017, MobileNets: efficient "
                  "convolutional neural networks for mobile vision applications (arXiv:1704.04861)",
                  "mobilenet", (224, 224, 3), 32, arch_args=(ALPHA_V1, DEPTH_MULTIPLIER),
                  keras_application="MobileNet", imagenet_alphas=(0.25, 0.5, 0.75, 1.0)),
        ModelSpec(ModelName.MOBILENETV2, "MobileNet v2", "Sandler et al. 2018, MobileNetV2: inverted "
                  "residuals and linear bottlenecks (arXiv:1801.04381)", "mobilenetv2", (224, 224, 3), 32,
                  arch_args=(ALPHA_V2,), keras_application="MobileNetV2",
                  imagenet_alphas=(0.35, 0.5, 0.75, 1.0, 1.3, 1.4)),
    )
}

MODEL_NAMES: tuple[str, ...] = tuple(m.value for m in ModelName)


@dataclass(frozen=True)
class ZooFigures:
    """A zoo model's size and cost at its default input, and its published ImageNet top-1, as data: the
    ``edgekit models`` table needs no TensorFlow. params and MACs are edgekit.analysis's counts on the built
    Keras model; tests/test_cli_info.py builds each model and checks them, so they cannot drift.
    """

    params: int
    macs: int
    top1_pct: float | None  # published ImageNet top-1 (%), never measured here
    top1_source: str  # where top1_pct comes from, or why there is none


_KERAS_DOCS = "keras.io/api/applications (Keras Applications table: single centre crop, ILSVRC-2012 validation)"
FIGURES: dict[ModelName, ZooFigures] = {
    ModelName.LENET5: ZooFigures(61_706, 416_520, None, "a digit classifier (32x32x1, 10 classes), never "
                                 "trained on ImageNet"),
    ModelName.ALEXNET: ZooFigures(62_378_344, 1_135_256_096, 59.3, "Krizhevsky et al. 2012, Table 2: 1 CNN, "
                                  "40.7% top-1 error on ILSVRC-2012 val"),
    ModelName.VGG16: ZooFigures(138_357_544, 15_470_264_320, 71.3, _KERAS_DOCS),
    ModelName.RESNET18: ZooFigures(11_703_912, 1_814_073_344, 72.1, "He et al. 2016 (arXiv:1512.03385), "
                                   "Table 2: 27.88% top-1 error, 10-crop"),
    ModelName.RESNET34: ZooFigures(21_823_208, 3_663_761_408, 75.0, "He et al. 2016 (arXiv:1512.03385), "
                                   "Table 2: 25.03% top-1 error, 10-crop"),
    ModelName.RESNET50: ZooFigures(25_636_712, 3_857_973_248, 74.9, _KERAS_DOCS),
    ModelName.GOOGLENET: ZooFigures(6_998_552, 1_582_671_872, None, "Szegedy et al. 2015 report only top-5 "
                                    "error (6.67%, ensemble)"),
    ModelName.INCEPTIONV3: ZooFigures(23_851_784, 5_713_216_096, 77.9, _KERAS_DOCS),
    ModelName.MOBILENET: ZooFigures(4_253_864, 568_740_352, 70.4, _KERAS_DOCS),
    ModelName.MOBILENETV2: ZooFigures(3_538_984, 300_774_272, 71.3, _KERAS_DOCS),
}


def get_spec(name: str | ModelName) -> ModelSpec:
    """Look a model up by name; an unknown name raises a UsageError listing the close matches."""
    try:
        return REGISTRY[ModelName(str(getattr(name, "value", name)).lower())]
    except ValueError:
        raise unknown_name("model", str(name), MODEL_NAMES) from None
