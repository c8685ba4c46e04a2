"""Keras MACs come from the model's own graph: each layer call counted once (Sequential, nested, shared,
loaded from .keras/.h5/SavedModel). Every expected figure is a hand count written out below."""

from __future__ import annotations

import pytest

from edgekit.analysis import analyze_keras

pytestmark = pytest.mark.usefixtures("tf")

# The seed's depthwise-separable example on a 6x6x3 input, valid padding: a 4x4 output.
DEPTHWISE = 4 * 4 * 3 * (3 * 3)  # 432: each of 3 channels, 9 taps per output value
POINTWISE_5 = 4 * 4 * 3 * 5  # 240: a 1x1 conv from 3 to 5 channels on 4x4
SEPARABLE = DEPTHWISE + POINTWISE_5  # 672
# [Conv2D 1x1 (4), DepthwiseConv2D 3x3, Conv2D 1x1 (5)] on 6x6x3
THREE = 6 * 6 * 3 * 4 + 4 * 4 * 4 * 9 + 4 * 4 * 4 * 5  # 432 + 576 + 320 = 1,328


def _separable(keras):
    L = keras.layers
    return keras.Sequential([keras.Input((6, 6, 3)), L.DepthwiseConv2D(3), L.Conv2D(5, 1)], name="separable")


def _three(keras):
    L = keras.layers
    return keras.Sequential([keras.Input((6, 6, 3)), L.Conv2D(4, 1), L.DepthwiseConv2D(3), L.Conv2D(5, 1)])


def _nested(keras):
    """A Sequential used as a layer of a functional model, after a 1x1 conv that feeds it 3 channels."""
    x = keras.Input((6, 6, 3))
    y = keras.layers.Conv2D(3, 1, name="stem")(x)  # 6*6*3*3 = 324
    return keras.Model(x, _separable(keras)(y))


NESTED = 6 * 6 * 3 * 3 + SEPARABLE  # 324 + 672 = 996


def _shared(keras):
    """One 1x1 conv (3 -> 3 channels) called twice on the same 6x6 map, then a dense head."""
    x = keras.Input((6, 6, 3))
    conv = keras.layers.Conv2D(3, 1, name="shared")
    y = conv(conv(x))
    return keras.Model(x, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(y)))


SHARED = 2 * (6 * 6 * 3 * 3) + 3 * 2  # two calls of 324, and the 3 -> 2 dense: 654


def test_sequential_counts_each_layer_once():
    import keras

    assert analyze_keras(_separable(keras)).macs == SEPARABLE
    assert [r.macs for r in analyze_keras(_separable(keras)).layers] == [DEPTHWISE, POINTWISE_5]
    assert analyze_keras(_three(keras)).macs == THREE


def test_a_sequential_called_again_elsewhere_still_counts_its_own_graph():
    import keras

    seq = _separable(keras)
    keras.Model(seq.inputs, seq(seq.inputs[0]))  # a second graph that calls the same layers
    assert analyze_keras(seq).macs == SEPARABLE


def test_nested_model_counts_its_inner_calls():
    import keras

    report = analyze_keras(_nested(keras))
    assert report.macs == NESTED
    assert next(r.name for r in report.layers if r.macs) == "stem"


def test_shared_layer_counts_every_call():
    import keras

    report = analyze_keras(_shared(keras))
    assert report.macs == SHARED
    assert [r.name for r in report.layers if r.type == "Conv2D"] == ["shared", "shared/call2"]
    assert report.params == (3 * 3 + 3) + (3 * 2 + 2)  # the shared conv's weights once


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize(("make", "macs"), [(_separable, SEPARABLE), (_three, THREE), (_nested, NESTED),
                                            (_shared, SHARED)], ids=["separable", "three", "nested", "shared"])
def test_loaded_models_count_the_same(tmp_path, suffix, make, macs):
    import keras

    from edgekit.app.cost import cost_of

    path = tmp_path / f"m{suffix}"
    make(keras).save(path)
    keras.backend.clear_session()
    assert cost_of(str(path)).macs == macs


def test_savedmodel_counts_the_same(tmp_path):
    import keras

    from edgekit.app.cost import cost_of

    _three(keras).export(str(tmp_path / "sm"), verbose=False)
    assert cost_of(str(tmp_path / "sm")).macs == THREE
