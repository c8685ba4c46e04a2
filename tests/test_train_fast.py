"""edgekit train and eval without training anything: data splits, folder scans, recipes and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.data import digits, folder
from edgekit.errors import UsageError
from edgekit.models.recipes import AUGMENT_NAMES, RECIPES, parse_augment
from edgekit.models.registry import ModelName
from tests._digits_folder import write_digits_folder
from tests.conftest import assert_one_line_error


def test_digits_split_is_fixed_stratified_and_disjoint():
    s = digits.split()
    assert len(s.pool) + len(s.test) == 1797 and not np.intersect1d(s.pool, s.test).size
    assert np.array_equal(s.test, digits.split().test)
    counts = np.bincount(digits.labels()[s.test], minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # 20% of each class
    train, val = digits.train_val(0.2, 123)
    assert not np.intersect1d(train, val).size and not np.intersect1d(np.union1d(train, val), s.test).size
    assert len(val) == round(0.2 * len(s.pool))


def test_digits_pixels_are_upscaled_real_images():
    x = digits.pixels((32, 32))
    assert x.shape == (1797, 32, 32, 1) and x.dtype == np.float32 and 200 < x.max() <= 255


def test_folder_scan_skips_corrupt_and_non_image_files(tmp_path):
    scan = folder.scan(write_digits_folder(tmp_path / "d", per_class=3, classes=4))
    assert scan.classes == ("0", "1", "2", "3") and len(scan.files) == 12 and scan.channels == 1
    assert [p.name for p in scan.corrupt] == ["broken.png"]
    assert [p.name for p in scan.not_images] == ["notes.txt"] and scan.skipped == 2
    assert "skipped" in scan.warning()


def test_folder_needs_two_classes(tmp_path):
    (tmp_path / "only").mkdir()
    with pytest.raises(UsageError, match="at least two class subfolders"):
        folder.scan(tmp_path)


def test_recipes_cover_the_acceptance_models():
    assert {ModelName.LENET5, ModelName.MOBILENET, ModelName.MOBILENETV2, ModelName.RESNET18} <= set(RECIPES)
    for name in (ModelName.MOBILENET, ModelName.MOBILENETV2):
        assert RECIPES[name].bn_momentum is not None and RECIPES[name].bn_momentum < 0.99
    assert parse_augment("rotate,zoom") == parse_augment("zoom,rotate")[::-1]
    assert parse_augment("none") == () and parse_augment(None) is None
    with pytest.raises(UsageError, match="did you mean rotate"):
        parse_augment("rotat")
    assert "flip" in AUGMENT_NAMES and "contrast" in AUGMENT_NAMES


def test_cli_refuses_a_folder_with_one_class(cli, tmp_path):
    (tmp_path / "data" / "cats").mkdir(parents=True)
    line = assert_one_line_error(cli("train", "lenet5", "--data", str(tmp_path / "data"), "-o",
                                     str(tmp_path / "m.keras")), 2)
    assert "at least two class subfolders" in line and "'cats'" in line


@pytest.mark.parametrize("split", ["0", "1", "1.5", "-0.1"])
def test_cli_refuses_val_split_outside_0_1(cli, tmp_path, split):
    line = assert_one_line_error(cli("train", "lenet5", "--data", "digits", "--val-split", split, "-o",
                                     str(tmp_path / "m.keras")), 2)
    assert "--val-split must be between 0 and 1" in line and split in line


def test_cli_refuses_existing_output_without_force(cli, tmp_path):
    out = tmp_path / "m.keras"
    out.write_bytes(b"keep me")
    line = assert_one_line_error(cli("train", "lenet5", "--data", "digits", "-o", str(out)), 1)
    assert "already exists" in line and "--force" in line
    assert out.read_bytes() == b"keep me"


def test_cli_imagenet_weights_absent_names_file_and_folder(cli, tmp_path):
    line = assert_one_line_error(cli("train", "mobilenetv2", "--data", "digits", "--input-size", "96",
                                     "--weights", "imagenet", "-o", str(tmp_path / "m.keras"),
                                     env={"KERAS_HOME": str(tmp_path / "kh")}), 1)
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5" in line
    assert str(tmp_path / "kh" / "models") in line


def test_cli_refuses_freezing_without_weights(cli, tmp_path):
    line = assert_one_line_error(cli("train", "mobilenet", "--data", "digits", "--fine-tune-at", "conv_pw_5",
                                     "-o", str(tmp_path / "m.keras")), 2)
    assert "--weights" in line


def test_cli_eval_refuses_bad_tta_and_lone_ensemble(cli, tmp_path):
    fake = tmp_path / "m.tflite"
    fake.write_bytes(b"x")
    assert "did you mean flip" in assert_one_line_error(cli("eval", str(fake), "--data", "digits", "--tta", "flp"), 2)
    line = assert_one_line_error(cli("eval", str(fake), "--data", "digits", "--ensemble"), 2)
    assert "two or more" in line
