"""Builder tier: the zoo matches keras.applications where it exists, and every builder takes small inputs."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.analysis import analyze_keras
from edgekit.models import MODEL_NAMES, build, get_spec

pytestmark = pytest.mark.usefixtures("tf")

KERAS_TWINS = [
    ("mobilenetv2", "MobileNetV2", [{"alpha": 0.35}, {"alpha": 0.75}, {"alpha": 1.0}, {"alpha": 1.4}], [224, 33, 96]),
    ("mobilenet", "MobileNet",
     [{"alpha": 0.25}, {"alpha": 0.5}, {"alpha": 1.0}, {"alpha": 0.75, "depth_multiplier": 2}], [224, 128, 32]),
    ("vgg16", "VGG16", [{}], [224, 64, 32]),
    ("resnet50", "ResNet50", [{}], [224, 97]),
    ("inceptionv3", "InceptionV3", [{}], [299, 75]),
]


@pytest.mark.heavy  # builds each zoo model and its keras.applications twin: CI's heavy tier
@pytest.mark.parametrize("name, app, arch_list, sizes", KERAS_TWINS, ids=[t[0] for t in KERAS_TWINS])
def test_params_equal_keras_applications(name, app, arch_list, sizes):
    import keras

    # every alpha at every size once, alternating the classifier on and off
    for i, (arch, size) in enumerate((a, s) for a in arch_list for s in sizes):
        include_top = i % 2 == 0
        ours = build(name, input_shape=size, include_top=include_top, **arch)
        theirs = getattr(keras.applications, app)(weights=None, input_shape=(size, size, 3),
                                                  include_top=include_top, **arch)
        assert ours.count_params() == theirs.count_params(), (arch, size, include_top)
        keras.backend.clear_session()


@pytest.mark.parametrize("name, app", [("mobilenetv2", "MobileNetV2"), ("mobilenet", "MobileNet"),
                                       ("resnet50", "ResNet50")])
def test_keras_applications_weights_load_layer_for_layer(name, app, tmp_path):
    """Legacy .h5 weights load by layer order, as ImageNet files do; outputs must then agree."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    kw = {"alpha": 0.5} if name.startswith("mobilenet") else {}
    theirs = getattr(keras.applications, app)(weights=None, input_shape=(96, 96, 3), **kw)
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, theirs)
    ours = build(name, input_shape=96, weights=str(path), **kw)
    x = np.random.default_rng(0).random((2, 96, 96, 3), dtype=np.float32)
    np.testing.assert_allclose(ours(x, training=False), theirs(x, training=False), rtol=1e-4, atol=1e-5)


def test_imagenet_weights_load_from_the_keras_cache(tmp_path, monkeypatch):
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    reference = keras.applications.MobileNetV2(weights=None, alpha=0.35, input_shape=(96, 96, 3))
    (tmp_path / "models").mkdir()
    with h5py.File(tmp_path / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96.h5", "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, reference)
    model = build("mobilenetv2", alpha=0.35, input_shape=96, weights="imagenet")
    for ours, theirs in zip(model.weights, reference.weights, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_builder_takes_its_minimum_input_and_names_layers(name):
    spec = get_spec(name)
    size = spec.min_size
    model = build(name, input_shape=(size, size, spec.default_input[2]), classes=7)
    assert model.output_shape == (None, 7)
    out = model(np.zeros((1, size, size, spec.default_input[2]), np.float32), training=False)
    assert out.shape == (1, 7)
    if name != "inceptionv3":  # keras.applications' own auto-named layers
        second = build(name, input_shape=(size, size, spec.default_input[2]), classes=7)
        assert [layer.name for layer in model.layers] == [layer.name for layer in second.layers]


def test_lenet5_matches_the_paper():
    report = analyze_keras(build("lenet5"))
    assert report.params == 61_706
    convs = [row for row in report.layers if row.macs and "conv" in row.name]
    assert [(r.output_shape, r.macs) for r in convs] == [((28, 28, 6), 117_600), ((10, 10, 16), 240_000)]


def test_resnet_blocks_projection_and_identity():
    model = build("resnet18", input_shape=64, classes=10)
    names = {layer.name for layer in model.layers}
    assert "conv3_block1_0_conv" in names  # projection shortcut where the shape changes
    assert "conv3_block2_0_conv" not in names and "conv3_block2_add" in names  # identity shortcut
    assert "conv2_block1_0_conv" not in names  # stage 2 keeps 64 channels


def test_googlenet_inception_module_has_bottlenecks_and_concat():
    report = analyze_keras(build("googlenet"))
    macs = {row.name: row.macs for row in report.layers}
    # inception 3a at 28x28x192: the 5x5 branch is 16-filter 1x1 bottleneck, then 32 5x5 filters
    assert macs["inception_3a_5x5_reduce"] == 28 * 28 * 16 * 192
    assert macs["inception_3a_5x5"] == 28 * 28 * 32 * 25 * 16
    assert build("googlenet").get_layer("inception_3a_concat").output.shape[-1] == 64 + 128 + 32 + 32


def test_mobilenetv2_residual_only_when_shapes_allow():
    names = {layer.name for layer in build("mobilenetv2", input_shape=96).layers}
    assert "block_2_add" in names and "block_1_add" not in names and "block_3_add" not in names
