"""Conversion pieces that need no TensorFlow: modes, preprocessing, calibration folders, output rules,
the cache, the fidelity maths and the Edge TPU report parser."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from converters import cache
from converters import calibration as cal
from converters.edgetpu import INSTALL_HINT, compile_model, parse_report
from converters.fidelity import compare
from converters.output import check_output, write_atomic, write_pair
from converters.preprocess import PRESETS, apply, parse_preprocess
from edgekit.errors import EdgekitError, UsageError
from edgekit.quant_modes import MODES, QuantConfig, QuantMode, config_from_flags, get_mode

# A real edgetpu_compiler 16 report (google-coral/edgetpu issue #427 layout), for the parser only.
REPORT = textwrap.dedent("""\
    Edge TPU Compiler version 16.0.384591198
    Started a compilation timeout timer of 180 seconds.

    Model compiled successfully in 1379 ms.

    Input model: model.tflite
    Input size: 4.41MiB
    Output model: model_edgetpu.tflite
    Output size: 5.49MiB
    On-chip memory used for caching model parameters: 1.92MiB
    On-chip memory remaining for caching model parameters: 1.75KiB
    Off-chip memory used for streaming uncached model parameters: 3.23MiB
    Number of Edge TPU subgraphs: 1
    Total number of operations: 136
    Operation log: model_edgetpu.log

    Model successfully compiled but not all operations are supported by the Edge TPU.
    Number of operations that will run on Edge TPU: 135
    Number of operations that will run on CPU: 1

    Operator                       Count      Status

    RESHAPE                        15         Mapped to Edge TPU
    CONV_2D                        120        Mapped to Edge TPU
    SOFTMAX                        1          Operation is working on an unsupported data type
    Compilation child process completed within timeout period.
    Compilation succeeded!
    """)


# --- modes -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", list(QuantMode))
def test_every_mode_has_a_record_and_a_cli_flag(mode):
    import typer

    from edgekit.cli import app

    flags = {opt: p.help for p in typer.main.get_command(app).commands["convert"].params for opt in p.opts}
    assert MODES[mode].mode is mode
    assert flags[f"--{mode.value}"] == MODES[mode].help
    assert QuantConfig(mode).tag == mode.value


@pytest.mark.parametrize("kwargs, flag", [({"mode": "fp16", "float_io": True}, "--float-io"),
                                          ({"mode": "dynamic", "edgetpu": True}, "--edgetpu"),
                                          ({"mode": "int16x8", "per_layer": True}, "--per-layer"),
                                          ({"mode": "int8", "edgetpu": True, "float_io": True}, "--float-io")])
def test_impossible_combinations_are_refused_when_built(kwargs, flag):
    with pytest.raises(UsageError, match=flag):
        QuantConfig(**kwargs)


def test_mode_flags():
    assert config_from_flags([]).mode is QuantMode.FP32
    assert config_from_flags([], edgetpu=True) == QuantConfig(QuantMode.INT8, edgetpu=True)
    assert config_from_flags([QuantMode.INT8], float_io=True).tag == "int8_floatio"
    with pytest.raises(UsageError, match="choose one"):
        config_from_flags([QuantMode.INT8, QuantMode.FP16])
    with pytest.raises(UsageError, match="--float-io needs --int8"):
        config_from_flags([], float_io=True)
    with pytest.raises(UsageError, match="did you mean int8"):
        get_mode("imt8")


def test_quant_is_the_word_convert_shares_with_bench():
    """``convert --quant int8`` is ``convert --int8``, the word bench and the study use; the flags still work."""
    assert config_from_flags([], quant="int8") == config_from_flags([QuantMode.INT8])
    assert config_from_flags([QuantMode.INT8], quant="INT8", float_io=True).tag == "int8_floatio"
    with pytest.raises(UsageError, match="choose one"):
        config_from_flags([QuantMode.FP16], quant="int8")
    with pytest.raises(UsageError, match="did you mean int8"):
        config_from_flags([], quant="imt8")


def test_convert_quant_option_on_the_command_line(tmp_path):
    from tests.conftest import assert_one_line_error, run_cli

    line = assert_one_line_error(run_cli("convert", "lenet5", "--quant", "imt8", cwd=tmp_path), 2)
    assert "did you mean int8" in line
    line = assert_one_line_error(run_cli("convert", "lenet5", "--quant", "int8", "--fp16", cwd=tmp_path), 2)
    assert "choose one quantization mode" in line
    assert list(tmp_path.iterdir()) == []


# --- preprocessing -----------------------------------------------------------------------------------------

def test_preprocess_presets_and_custom():
    px = np.array([[[[0.0, 127.5, 255.0]]]], np.float32)
    np.testing.assert_allclose(apply(px, PRESETS["tf"]), [[[[-1, 0, 1]]]])
    np.testing.assert_allclose(apply(px, PRESETS["unit"]), [[[[0, 0.5, 1]]]])
    custom = parse_preprocess("mean=1/2/3,std=2,order=BGR")
    assert custom.channel_order == "BGR" and custom.mean == (1, 2, 3)
    np.testing.assert_allclose(apply(px, custom), [[[[127.0, 62.75, -1.5]]]])
    with pytest.raises(UsageError, match="did you mean"):
        parse_preprocess("unti")
    with pytest.raises(UsageError, match="non-zero"):
        parse_preprocess("mean=0,std=0")


# --- calibration folders -----------------------------------------------------------------------------------

def _image(path, mode="RGB", size=(40, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(path)))
    arr = rng.integers(0, 255, (size[1], size[0], 3 if mode == "RGB" else 1), np.uint8)
    Image.fromarray(arr.squeeze() if mode == "L" else arr, mode).save(path)


def test_folder_is_read_recursively_in_every_format(tmp_path):
    for i, ext in enumerate(["jpg", "png", "bmp", "gif"]):
        _image(tmp_path / f"sub{i}" / f"img{i}.{ext}")
    data = cal.load(cal.parse_calibration(str(tmp_path), 3), (16, 16, 3), samples=3, held_out=8)
    assert data.calibration.shape == (3, 16, 16, 3) and data.held_out.shape == (1, 16, 16, 3)
    assert data.calibration.dtype == np.float32 and 0 <= data.calibration.min() <= data.calibration.max() <= 255


def test_corrupt_files_are_skipped_with_a_count(tmp_path):
    _image(tmp_path / "good.png")
    (tmp_path / "bad1.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "bad2.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    data = cal.load(cal.CalibrationSpec("dir", tmp_path), (16, 16, 3), samples=4, held_out=2)
    assert len(data.calibration) == 1
    assert any("skipped 2 unreadable" in n for n in data.notes)
    assert any("built-in photos" in n for n in data.notes)  # nothing left over for the fidelity check


def test_grayscale_images_become_rgb_and_say_so(tmp_path):
    _image(tmp_path / "grey.png", "L")
    _image(tmp_path / "colour.png")
    data = cal.load(cal.CalibrationSpec("dir", tmp_path), (16, 16, 3), samples=2, held_out=1)
    assert data.calibration.shape == (2, 16, 16, 3)
    assert any("converted 1 grayscale image(s) to RGB" in n for n in data.notes)


def test_colour_images_for_a_grayscale_model_are_refused(tmp_path):
    _image(tmp_path / "colour.png")
    with pytest.raises(UsageError, match=r"colour .* model takes 1 channel"):
        cal.load(cal.CalibrationSpec("dir", tmp_path), (16, 16, 1), samples=2, held_out=1)


def test_empty_or_unreadable_folders_fail(tmp_path):
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(EdgekitError, match="has no images"):
        cal.parse_calibration(str(tmp_path), 3)  # before any model is loaded
    with pytest.raises(EdgekitError, match="has no images"):
        cal.load(cal.CalibrationSpec("dir", tmp_path), (16, 16, 3), 2, 1)
    (tmp_path / "a.jpg").write_bytes(b"garbage")
    with pytest.raises(EdgekitError, match="none of the 1 image files"):
        cal.load(cal.CalibrationSpec("dir", tmp_path), (16, 16, 3), 2, 1)


def test_builtin_sets_are_real_and_disjoint():
    cal_digits, held_digits = cal.digits((16, 16), 50, cal.SEED), cal.digits((16, 16), 50, cal.SEED + 1)
    assert cal_digits.shape == (50, 16, 16, 1) and cal_digits.std() > 30  # real strokes, not noise or zeros
    assert not any(np.array_equal(a, b) for a in cal_digits[:10] for b in held_digits)
    photos = cal.photos((24, 24), 6, cal.SEED)
    assert photos.shape == (6, 24, 24, 3) and photos.std() > 20
    synthetic = cal.load(cal.CalibrationSpec("synthetic"), (8, 8, 3), 4, 2)
    assert any("not trustworthy" in n for n in synthetic.notes)
    assert cal.parse_calibration(None, 1).origin == "digits" and cal.parse_calibration(None, 3).origin == "photos"
    with pytest.raises(UsageError, match="neither a folder nor a built-in set"):
        cal.parse_calibration("/no/such/folder", 3)


# --- output ------------------------------------------------------------------------------------------------

def test_existing_output_is_never_replaced_without_force(tmp_path):
    out = tmp_path / "m.tflite"
    out.write_bytes(b"old")
    with pytest.raises(EdgekitError, match="already exists; pass --force"):
        check_output(out, force=False)
    assert check_output(out, force=True) == out
    write_pair(out, b"new", {"a": 1}, force=True)
    assert out.read_bytes() == b"new" and (tmp_path / "m.tflite.json").read_text().strip().startswith("{")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tflite", "m.tflite.json"]  # no temp files left
    assert stat.S_IMODE(out.stat().st_mode) & 0o044  # readable by others, like any file the user writes


def test_unwritable_output_folder_fails_before_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(EdgekitError, match="does not exist"):
        check_output(blocker / "m.tflite", force=False)
    with pytest.raises(EdgekitError, match="cannot write to folder"):
        check_output(Path("/proc/m.tflite"), force=False)
    with pytest.raises(EdgekitError, match="cannot write"):
        write_atomic(Path("/proc/m.tflite"), b"x", force=False)


def test_cache_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path))
    k = cache.key({"source": "abc", "mode": "int8"})
    assert cache.get(k) is None
    cache.put(k, b"TFL3", {"sidecar": {"x": 1}})
    assert cache.get(k) == (b"TFL3", {"sidecar": {"x": 1}})
    assert k != cache.key({"source": "abc", "mode": "fp16"})


# --- fidelity maths ----------------------------------------------------------------------------------------

def test_fidelity_metrics():
    f = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    same = compare(f, f, "x")
    assert same.top1_agreement == 1.0 and same.cosine == pytest.approx(1.0) and same.max_abs_error == 0
    q = f + np.array([[0.0, 0.1, 0.0], [0.0, 0.0, 3.0]])
    worse = compare(f, q, "x")
    assert worse.top1_agreement == 0.5 and worse.max_abs_error == pytest.approx(3.0)
    assert worse.sqnr_db == pytest.approx(10 * np.log10(5 / 9.01), abs=0.01)


# --- Edge TPU ----------------------------------------------------------------------------------------------

def test_edgetpu_report_parsing():
    r = parse_report(REPORT)
    assert (r["ops_on_tpu"], r["ops_on_cpu"], r["total_ops"]) == (135, 1, 136)
    assert r["on_chip_bytes"] == round(1.92 * 2**20) and r["off_chip_bytes"] == round(3.23 * 2**20)
    assert r["compiler_version"] == "16.0.384591198"
    assert r["operators"][2] == {"op": "SOFTMAX", "count": 1,
                                 "status": "Operation is working on an unsupported data type"}
    # A fully mapped model prints no summary lines: counts come from the table.
    table_only = "Total number of operations: 3\nOperator   Count   Status\n\nCONV_2D   3   Mapped to Edge TPU\n"
    assert parse_report(table_only)["ops_on_tpu"] == 3 and parse_report(table_only)["ops_on_cpu"] == 0


def test_edgetpu_compiler_absent_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    report = compile_model(tmp_path / "m.tflite")
    assert not report.compiled and report.message == INSTALL_HINT
    assert "x86-64" in INSTALL_HINT and "apt" in INSTALL_HINT


def _fake_compiler(tmp_path, monkeypatch, writes: bool):
    """A stand-in edgetpu_compiler: prints REPORT and, like the real one, writes -o DIR/<stem>_edgetpu.tflite."""
    fake = tmp_path / "bin" / "edgetpu_compiler"
    fake.parent.mkdir()
    write = ("out = os.path.join(sys.argv[3], os.path.basename(sys.argv[4])[:-7] + '_edgetpu.tflite')\n"
             "open(out, 'wb').write(b'compiled')\n") if writes else ""
    fake.write_text(f"#!{sys.executable}\nimport os, sys\nprint({REPORT!r})\n{write}")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")


def test_fake_edgetpu_compiler_is_run_and_parsed(tmp_path, monkeypatch):
    _fake_compiler(tmp_path, monkeypatch, writes=True)
    report = compile_model(tmp_path / "m.tflite")
    assert report.compiled and report.ops_on_cpu == 1 and report.off_chip_bytes > 0
    assert report.output == str(tmp_path / "m_edgetpu.tflite")


def test_compiled_only_when_the_edgetpu_file_exists(tmp_path, monkeypatch):
    _fake_compiler(tmp_path, monkeypatch, writes=False)  # exits 0, prints a report, writes nothing
    report = compile_model(tmp_path / "m.tflite")
    assert not report.compiled and report.output is None
    assert "wrote no m_edgetpu.tflite" in report.message and report.ops_on_tpu == 135  # the report is kept


def test_importing_the_cli_and_converters_loads_no_tensorflow():
    code = "import sys, edgekit.cli, converters; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_digits_calibration_never_draws_from_the_test_split():
    from converters import calibration as cal
    from edgekit.data import digits as data

    everything = data.pixels((8, 8)).reshape(len(data.labels()), -1)
    test_rows = {everything[i].tobytes() for i in data.split().test}
    for seed in (cal.SEED, cal.SEED + 1):
        drawn = cal.digits((8, 8), 500, seed).reshape(500, -1)
        assert not {row.tobytes() for row in drawn} & test_rows
    first, second = cal.digits((8, 8), 500, cal.SEED), cal.digits((8, 8), 500, cal.SEED + 1)
    assert not {r.tobytes() for r in first.reshape(500, -1)} & {r.tobytes() for r in second.reshape(500, -1)}


def test_a_conversion_result_comes_back_from_its_json_whole():
    """What a conversion in a child process hands back (converters.isolated): to_dict, JSON, from_dict."""
    import json

    from converters.conversion_result import ConversionResult
    from converters.edgetpu import EdgeTPUReport
    from converters.fidelity import Fidelity

    result = ConversionResult(Path("m_int8.tflite"), Path("m_int8.json"), "int8", 1000, 4000, 1.5, 12.25, False,
                              Fidelity(8, "digits", 1.0, 0.999, 33.0, 0.01), {"params": 1000,
                                                                           "conversion_peak_rss_mb": 674},
                              EdgeTPUReport(True, ops_on_tpu=3, operators=({"op": "CONV_2D", "count": 3},)),
                              ({"layer": "conv"},), ("a warning",))
    assert ConversionResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
