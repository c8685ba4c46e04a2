"""MobileNet v2.

Reference: Sandler, Howard, Zhu, Zhmoginov & Chen 2018, "MobileNetV2: inverted residuals and linear
bottlenecks", arXiv:1801.04381 (Table 2).

Each inverted residual block expands the channels with a 1x1 convolution (factor t), filters them with a 3x3
depthwise convolution, and projects them back down with a *linear* 1x1 bottleneck (no activation). The
residual connection is added when the block keeps the stride at 1 and the channel count unchanged. Layer for
layer ``keras.applications.MobileNetV2`` (channel counts rounded to multiples of 8), so its ImageNet weights
load. Deviation, from Keras: explicit zero padding before the stride-2 depthwise convolutions.
"""

from __future__ import annotations

from edgekit.models._keras import keras

# (expansion t, output channels c, repeats n, first stride s), Table 2 of the paper
_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
           (6, 320, 1, 1))
_BN = {"epsilon": 1e-3, "momentum": 0.999}


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor``, never going below 90% of it (as Keras does)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def inverted_residual_block(x, expansion: int, stride: int, alpha: float, filters: int, block: int):
    """Expand (1x1), depthwise 3x3, project linearly (1x1); add the input back when shapes allow."""
    layers = keras().layers
    in_channels = x.shape[-1]
    out_channels = make_divisible(int(filters * alpha))
    inputs = x
    prefix = f"block_{block}_" if block else "expanded_conv_"
    if block:
        x = layers.Conv2D(expansion * in_channels, 1, padding="same", use_bias=False, name=f"{prefix}expand")(x)
        x = layers.BatchNormalization(**_BN, name=f"{prefix}expand_BN")(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    if stride == 2:
        h, w = x.shape[1], x.shape[2]
        x = layers.ZeroPadding2D(((h % 2, 1), (w % 2, 1)), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(3, strides=stride, use_bias=False, padding="same" if stride == 1 else "valid",
                               name=f"{prefix}depthwise")(x)
    x = layers.BatchNormalization(**_BN, name=f"{prefix}depthwise_BN")(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(out_channels, 1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = layers.BatchNormalization(**_BN, name=f"{prefix}project_BN")(x)
    if in_channels == out_channels and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def mobilenetv2(input_shape: tuple[int, int, int], classes: int, include_top: bool, alpha: float = 1.0):
    layers = keras().layers
    inputs = keras().Input(shape=input_shape, name="input")
    x = layers.Conv2D(make_divisible(32 * alpha), 3, strides=2, padding="same", use_bias=False, name="Conv1")(inputs)
    x = layers.BatchNormalization(**_BN, name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    block = 0
    for expansion, filters, repeats, first_stride in _STAGES:
        for i in range(repeats):
            x = inverted_residual_block(x, expansion, first_stride if i == 0 else 1, alpha, filters, block)
            block += 1
    last = make_divisible(1280 * alpha) if alpha > 1.0 else 1280
    x = layers.Conv2D(last, 1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(**_BN, name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
        x = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras().Model(inputs, x, name=f"mobilenetv2_{alpha:0.2f}_{input_shape[0]}")
