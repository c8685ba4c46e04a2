"""Keras tier: MAC counting on built models, the seed's numbers, and agreement with TFLite's graph."""

from __future__ import annotations

import pytest

from edgekit.analysis import analyze_graph, analyze_keras, parse_tflite
from edgekit.models import MODEL_NAMES, build, get_spec

pytestmark = pytest.mark.usefixtures("tf")


def _model(inputs, outputs):
    import keras

    return keras.Model(inputs, outputs)


def test_seed_convolutions_in_keras():
    import keras

    L = keras.layers
    x = keras.Input((6, 6, 3))
    assert analyze_keras(_model(x, L.Conv2D(5, 3)(x))).macs == 2160
    report = analyze_keras(_model(x, L.SeparableConv2D(5, 3)(x)))
    assert [row.macs for row in report.layers] == [432, 240]
    x = keras.Input((28, 28, 192))
    assert analyze_keras(_model(x, L.Conv2D(32, 5, padding="same")(x))).macs == 120_422_400
    bottleneck = L.Conv2D(32, 5, padding="same")(L.Conv2D(16, 1)(x))
    assert analyze_keras(_model(x, bottleneck)).macs == 12_443_648


def test_nested_models_strides_groups_transpose_and_dense():
    import keras

    L = keras.layers
    inner_in = keras.Input((8, 8, 4))
    inner = keras.Model(inner_in, L.Conv2D(8, 3, strides=2, padding="same", groups=2)(inner_in), name="inner")
    x = keras.Input((8, 8, 4))
    y = inner(x)
    y = L.Conv2DTranspose(4, 3, strides=2, padding="same")(y)
    y = L.Dense(6)(L.Flatten()(y))
    report = analyze_keras(_model(x, y))
    assert [r.macs for r in report.layers if r.macs] == [4 * 4 * 8 * 9 * 2, 4 * 4 * 8 * 9 * 4, 8 * 8 * 4 * 6]
    assert report.params == inner.count_params() + (9 * 8 * 4 + 4) + (256 * 6 + 6)


def test_elementwise_ops_are_separate_from_macs():
    report = analyze_keras(build("mobilenetv2", input_shape=96))
    bn = [r for r in report.layers if r.type == "BatchNormalization"]
    assert bn and all(r.macs == 0 and r.elementwise_ops > 0 for r in bn)
    assert report.elementwise_ops > 0


def test_activation_peak_is_plausible_for_vgg():
    report = analyze_keras(build("vgg16"))
    # two 224x224x64 float32 maps are live while block1_conv2 runs
    assert report.activation_peak_bytes >= 2 * 224 * 224 * 64 * 4
    assert report.activation_peak_bytes < 4 * 224 * 224 * 64 * 4


SMALL = {"lenet5": 32, "alexnet": 67, "vgg16": 32, "resnet18": 64, "resnet34": 64, "resnet50": 64,
         "googlenet": 64, "inceptionv3": 75, "mobilenet": 64, "mobilenetv2": 64}
# The deepest graphs take a minute or more each to convert on 2 cores: the heavy tier (CI runs it) converts them;
# the default suite keeps one of each kind of block (plain, residual, inception, depthwise, inverted residual).
DEEP = {"inceptionv3", "resnet34", "resnet50", "alexnet", "vgg16"}  # plain blocks: LeNet-5 stays in the default


@pytest.mark.slow
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.heavy) if n in DEEP else n for n in MODEL_NAMES])
def test_tflite_conversion_keeps_total_macs(name):
    from converters._tf import quiet_tf

    spec = get_spec(name)
    model = build(name, input_shape=(SMALL[name], SMALL[name], spec.default_input[2]), classes=10)
    with quiet_tf() as tf:
        flat = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    assert analyze_graph(parse_tflite(flat), name).macs == analyze_keras(model).macs
