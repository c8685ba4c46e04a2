"""Inception v3.

Reference: Szegedy, Vanhoucke, Ioffe, Shlens & Wojna 2016, "Rethinking the Inception architecture for
computer vision", arXiv:1512.00567.

This builder delegates the graph to ``keras.applications.InceptionV3`` (weights never fetched here; edgekit
loads them itself), which is the reference implementation whose ImageNet weights users have. Deviation, from
Keras: no auxiliary classifier.
"""

from __future__ import annotations

from edgekit.models._keras import keras


def inceptionv3(input_shape: tuple[int, int, int], classes: int, include_top: bool):
    return keras().applications.InceptionV3(
        include_top=include_top, weights=None, input_shape=input_shape, classes=classes, name="inceptionv3"
    )
