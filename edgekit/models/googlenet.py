"""GoogLeNet (Inception v1).

Reference: Szegedy et al. 2015, "Going deeper with convolutions", arXiv:1409.4842 (Table 1).

Each inception module runs four branches on the same input and concatenates them along channels: a 1x1
convolution; a 1x1 bottleneck then a 3x3; a 1x1 bottleneck then a 5x5; a 3x3 max pool then a 1x1 projection.
The 1x1 bottlenecks are what make the 3x3 and 5x5 branches affordable.
Deviations from the paper: no local response normalisation, no auxiliary classifiers (they only matter in
training), and global average pooling in place of the fixed 7x7 pool so that any input size works.
"""

from __future__ import annotations

from edgekit.models._keras import keras

# name: (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj), from Table 1 of the paper
_MODULES = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


def _conv(x, filters: int, kernel: int, name: str, stride: int = 1):
    return keras().layers.Conv2D(filters, kernel, strides=stride, padding="same", activation="relu",
                                 name=name)(x)


def inception_module(x, name: str, widths: tuple[int, int, int, int, int, int]):
    """One inception module: four branches with 1x1 bottlenecks, concatenated along channels."""
    layers = keras().layers
    b1, r3, b3, r5, b5, pp = widths
    p = f"inception_{name}"
    branch1 = _conv(x, b1, 1, f"{p}_1x1")
    branch3 = _conv(_conv(x, r3, 1, f"{p}_3x3_reduce"), b3, 3, f"{p}_3x3")
    branch5 = _conv(_conv(x, r5, 1, f"{p}_5x5_reduce"), b5, 5, f"{p}_5x5")
    pool = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{p}_pool")(x)
    branch_pool = _conv(pool, pp, 1, f"{p}_pool_proj")
    return layers.Concatenate(name=f"{p}_concat")([branch1, branch3, branch5, branch_pool])


def googlenet(input_shape: tuple[int, int, int], classes: int, include_top: bool):
    layers = keras().layers
    inputs = keras().Input(shape=input_shape, name="input")
    x = _conv(inputs, 64, 7, "conv1_7x7", stride=2)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    x = _conv(x, 64, 1, "conv2_3x3_reduce")
    x = _conv(x, 192, 3, "conv2_3x3")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)
    for name, widths in _MODULES.items():
        if name in ("4a", "5a"):
            x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool{name[0]}")(x)
        x = inception_module(x, name, widths)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dropout(0.4, name="dropout")(x)
        x = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras().Model(inputs, x, name="googlenet")
