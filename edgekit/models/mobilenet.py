"""MobileNet v1.

Reference: Howard et al. 2017, "MobileNets: efficient convolutional neural networks for mobile vision
applications", arXiv:1704.04861 (Table 1).

A 3x3 stride-2 convolution, then 13 depthwise-separable blocks (a 3x3 depthwise convolution, then a 1x1
pointwise convolution, each followed by batch norm and ReLU6), global average pooling, a dense classifier and
softmax. ``alpha`` thins every layer, ``depth_multiplier`` multiplies the depthwise outputs, and the
resolution multiplier is the input size. Layer for layer ``keras.applications.MobileNet``, so its ImageNet
weights load. Deviations, from Keras: ReLU6 instead of ReLU, explicit zero padding before strided depthwise
convolutions, and the dense classifier is written as a 1x1 convolution (same parameters and MACs).
"""

from __future__ import annotations

from edgekit.models._keras import keras

# (pointwise filters, stride) of blocks 1..13
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
           (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def depthwise_separable_block(x, filters: int, alpha: float, depth_multiplier: int, stride: int, block: int):
    """A 3x3 depthwise convolution then a 1x1 pointwise convolution, each with batch norm and ReLU6."""
    layers = keras().layers
    if stride != 1:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block}")(x)
    x = layers.DepthwiseConv2D(3, padding="same" if stride == 1 else "valid", depth_multiplier=depth_multiplier,
                               strides=stride, use_bias=False, name=f"conv_dw_{block}")(x)
    x = layers.BatchNormalization(name=f"conv_dw_{block}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block}_relu")(x)
    x = layers.Conv2D(int(filters * alpha), 1, padding="same", use_bias=False, name=f"conv_pw_{block}")(x)
    x = layers.BatchNormalization(name=f"conv_pw_{block}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block}_relu")(x)


def mobilenet(input_shape: tuple[int, int, int], classes: int, include_top: bool, alpha: float = 1.0,
              depth_multiplier: int = 1, dropout: float = 1e-3):
    layers = keras().layers
    inputs = keras().Input(shape=input_shape, name="input")
    x = layers.Conv2D(int(32 * alpha), 3, strides=2, padding="same", use_bias=False, name="conv1")(inputs)
    x = layers.BatchNormalization(name="conv1_bn")(x)
    x = layers.ReLU(6.0, name="conv1_relu")(x)
    for block, (filters, stride) in enumerate(_BLOCKS, start=1):
        x = depthwise_separable_block(x, filters, alpha, depth_multiplier, stride, block)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True, name="global_pool")(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, 1, padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        x = layers.Activation("softmax", name="predictions")(x)
    return keras().Model(inputs, x, name=f"mobilenet_{alpha:0.2f}")
