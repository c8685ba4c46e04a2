"""ResNet-18, ResNet-34 and ResNet-50, built from the same block helpers.

Reference: He, Zhang, Ren & Sun 2016, "Deep residual learning for image recognition", arXiv:1512.03385.

A stage starts with a *convolutional (projection) block*, whose shortcut is a strided 1x1 convolution and
batch norm because the shape changes, followed by *identity blocks*, whose shortcut is the input itself.
ResNet-18/34 use the basic block (two 3x3 convolutions), ResNet-50 the bottleneck block (1x1, 3x3, 1x1 with
4x expansion). ResNet-50 is layer for layer ``keras.applications.ResNet50`` (same names and order, stride on
the first 1x1 as in the original Caffe model, biases on every convolution), so its ImageNet weights load.
Deviation: ResNet-18/34 also keep those biases (the paper's convolutions have none before batch norm);
the difference is 1 parameter per output channel.
"""

from __future__ import annotations

from edgekit.models._keras import keras

_EPS = 1.001e-5
# blocks per stage (conv2_x .. conv5_x), and whether the stage uses bottleneck blocks
_DEPTHS = {"resnet18": ((2, 2, 2, 2), False), "resnet34": ((3, 4, 6, 3), False), "resnet50": ((3, 4, 6, 3), True)}
_WIDTHS = (64, 128, 256, 512)


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, relu: bool):
    layers = keras().layers
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", name=f"{name}_conv")(x)
    x = layers.BatchNormalization(epsilon=_EPS, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x) if relu else x


def _residual_branch(x, filters: int, stride: int, bottleneck: bool, name: str):
    if bottleneck:
        x = _conv_bn(x, filters, 1, stride, f"{name}_1", relu=True)
        x = _conv_bn(x, filters, 3, 1, f"{name}_2", relu=True)
        return _conv_bn(x, 4 * filters, 1, 1, f"{name}_3", relu=False)
    x = _conv_bn(x, filters, 3, stride, f"{name}_1", relu=True)
    return _conv_bn(x, filters, 3, 1, f"{name}_2", relu=False)


def _merge(shortcut, x, name: str):
    layers = keras().layers
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def projection_block(x, filters: int, stride: int, bottleneck: bool, name: str):
    """The convolutional block: the shortcut is a strided 1x1 convolution plus batch norm."""
    out = 4 * filters if bottleneck else filters
    shortcut = _conv_bn(x, out, 1, stride, f"{name}_0", relu=False)
    return _merge(shortcut, _residual_branch(x, filters, stride, bottleneck, name), name)


def identity_block(x, filters: int, bottleneck: bool, name: str):
    """The identity block: input and output shapes match, so the shortcut is the input itself."""
    return _merge(x, _residual_branch(x, filters, 1, bottleneck, name), name)


def _resnet(arch: str, input_shape: tuple[int, int, int], classes: int, include_top: bool):
    layers = keras().layers
    depths, bottleneck = _DEPTHS[arch]
    inputs = keras().Input(shape=input_shape, name="input")
    x = layers.ZeroPadding2D(((3, 3), (3, 3)), name="conv1_pad")(inputs)
    x = layers.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    x = layers.BatchNormalization(epsilon=_EPS, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (blocks, filters) in enumerate(zip(depths, _WIDTHS, strict=True), start=2):
        stride = 1 if stage == 2 else 2
        # Basic-block stage 2 keeps 64 channels, so its first block needs no projection (as in the paper).
        if bottleneck or stride != 1:
            x = projection_block(x, filters, stride, bottleneck, f"conv{stage}_block1")
        else:
            x = identity_block(x, filters, bottleneck, f"conv{stage}_block1")
        for b in range(2, blocks + 1):
            x = identity_block(x, filters, bottleneck, f"conv{stage}_block{b}")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras().Model(inputs, x, name=arch)


def resnet18(input_shape: tuple[int, int, int], classes: int, include_top: bool):
    return _resnet("resnet18", input_shape, classes, include_top)


def resnet34(input_shape: tuple[int, int, int], classes: int, include_top: bool):
    return _resnet("resnet34", input_shape, classes, include_top)


def resnet50(input_shape: tuple[int, int, int], classes: int, include_top: bool):
    return _resnet("resnet50", input_shape, classes, include_top)
