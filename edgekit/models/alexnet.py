"""AlexNet, single tower.

Reference: Krizhevsky, Sutskever & Hinton 2012, "ImageNet classification with deep convolutional neural
networks".

Deviations from the paper: one tower instead of two GPU halves (so conv2, conv4 and conv5 see all input
channels), no local response normalisation, and a 227x227 input so that conv1's 11x11/4 valid convolution
yields 55x55 as the paper's figure states.
"""

from __future__ import annotations

from edgekit.models._keras import keras


def alexnet(input_shape: tuple[int, int, int], classes: int, include_top: bool):
    layers = keras().layers
    inputs = keras().Input(shape=input_shape, name="input")
    x = layers.Conv2D(96, 11, strides=4, activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = layers.Conv2D(256, 5, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool2")(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu", name="conv4")(x)
    x = layers.Conv2D(256, 3, padding="same", activation="relu", name="conv5")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc6")(x)
        x = layers.Dropout(0.5, name="fc6_dropout")(x)
        x = layers.Dense(4096, activation="relu", name="fc7")(x)
        x = layers.Dropout(0.5, name="fc7_dropout")(x)
        x = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras().Model(inputs, x, name="alexnet")
