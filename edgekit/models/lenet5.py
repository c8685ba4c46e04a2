"""LeNet-5.

Reference: LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to document recognition".

Layers: conv 6@5x5, average pool, conv 16@5x5, average pool, dense 120, dense 84, dense classes; tanh.
Deviations from the paper: C3 connects every input map to every output map (the paper used a sparse
connection table), the pools are plain averages without trainable coefficients, and the output is a softmax
instead of Euclidean RBF units.
"""

from __future__ import annotations

from edgekit.models._keras import keras


def lenet5(input_shape: tuple[int, int, int], classes: int, include_top: bool):
    layers = keras().layers
    inputs = keras().Input(shape=input_shape, name="input")
    x = layers.Conv2D(6, 5, activation="tanh", name="c1_conv")(inputs)
    x = layers.AveragePooling2D(2, name="s2_pool")(x)
    x = layers.Conv2D(16, 5, activation="tanh", name="c3_conv")(x)
    x = layers.AveragePooling2D(2, name="s4_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    if include_top:
        x = layers.Dense(120, activation="tanh", name="c5_dense")(x)
        x = layers.Dense(84, activation="tanh", name="f6_dense")(x)
        x = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras().Model(inputs, x, name="lenet5")
