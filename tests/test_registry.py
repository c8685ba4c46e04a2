"""Fast tier: the model registry validates before Keras is ever imported."""

from __future__ import annotations

import sys

import pytest

from edgekit.errors import UsageError, WeightsNotFoundError
from edgekit.models import MODEL_NAMES, REGISTRY, build, get_spec


def test_ten_models_registered():
    assert MODEL_NAMES == ("lenet5", "alexnet", "vgg16", "resnet18", "resnet34", "resnet50", "googlenet",
                           "inceptionv3", "mobilenet", "mobilenetv2")
    assert all(spec.paper and spec.title for spec in REGISTRY.values())


def test_unknown_name_suggests_close_matches():
    with pytest.raises(UsageError, match="did you mean mobilenetv2") as err:
        get_spec("mobilenet_v2")
    assert "choose from" in str(err.value)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_input_below_minimum_is_refused_with_the_minimum(name):
    spec = get_spec(name)
    with pytest.raises(UsageError, match=f"at least {spec.min_size}x{spec.min_size}"):
        spec.input_shape(spec.min_size - 1)


@pytest.mark.parametrize("alpha", [0, -1, 2.5])
def test_alpha_out_of_range(alpha):
    with pytest.raises(UsageError, match="alpha"):
        build("mobilenetv2", alpha=alpha)


def test_arch_arg_the_model_lacks():
    with pytest.raises(UsageError, match="does not take 'alpha'"):
        build("vgg16", alpha=0.5)


def test_bad_classes():
    with pytest.raises(UsageError, match="classes"):
        build("lenet5", classes=0)


def test_validation_happens_before_keras_is_imported():
    with pytest.raises(UsageError):
        build("mobilenet", input_shape=8)
    # argument errors never pay for importing TensorFlow (in a process that has not imported it yet)
    assert "keras" not in sys.modules or "tensorflow" in sys.modules


def test_imagenet_weights_missing_names_file_and_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(WeightsNotFoundError) as err:
        build("mobilenetv2", alpha=0.35, input_shape=96, weights="imagenet")
    message = str(err.value)
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96.h5" in message
    assert str(tmp_path / "models") in message


def test_imagenet_weights_for_models_without_them():
    with pytest.raises(UsageError, match="no ImageNet weights"):
        build("lenet5", weights="imagenet")


def test_imagenet_alpha_must_have_weights():
    with pytest.raises(UsageError, match="alpha"):
        build("mobilenet", alpha=0.3, weights="imagenet")
