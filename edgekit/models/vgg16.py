"""VGG-16 (configuration D).

Reference: Simonyan & Zisserman 2014, "Very deep convolutional networks for large-scale image recognition",
arXiv:1409.1556.

Layer for layer the same as ``keras.applications.VGG16`` (same names, same order), so its ImageNet weights
load. No deviation from the paper's configuration D.
"""

from __future__ import annotations

from edgekit.models._keras import keras

# (filters, convolutions) per block
_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def vgg16(input_shape: tuple[int, int, int], classes: int, include_top: bool):
    layers = keras().layers
    inputs = keras().Input(shape=input_shape, name="input")
    x = inputs
    for b, (filters, convs) in enumerate(_BLOCKS, start=1):
        for c in range(1, convs + 1):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"block{b}_conv{c}")(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{b}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras().Model(inputs, x, name="vgg16")
