"""Conversion memory (issue 22): the SavedModel path gives the very bytes the Keras path gave, every conversion
records its peak, and the memory guard stops a conversion (``convert``) or skips a model (``study``) in one line
when it is expected to need more than is available (``EDGEKIT_MEMORY_AVAILABLE_MB`` makes that cheap to test)."""

from __future__ import annotations

import json

import pytest

from converters import memory
from edgekit.errors import UsageError
from tests.conftest import assert_one_line_error, run_cli


def test_available_memory_from_env_and_proc(monkeypatch):
    monkeypatch.setenv(memory.ENV, "1500")
    assert memory.available_bytes() == 1500 * memory.MB
    for bad in ("lots", "-3"):
        monkeypatch.setenv(memory.ENV, bad)
        with pytest.raises(UsageError, match=memory.ENV):
            memory.available_bytes()
    monkeypatch.delenv(memory.ENV)
    free = memory.available_bytes()
    assert free is not None and 0 < free <= memory._meminfo_available()


def test_check_message_names_model_need_and_available(monkeypatch, tmp_path):
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path))  # no learned ratios
    monkeypatch.setenv(memory.ENV, "2048")
    vgg = memory.check("vgg16", "int8", 138_357_544 * 4)  # large enough to convert in stages
    assert not vgg.fits
    assert vgg.need == memory.STAGED_BASE_BYTES + int(memory.STAGED_RATIO["int8"] * 138_357_544 * 4)
    assert vgg.message() == ("vgg16 int8: converting needs about 3.6 GB of memory (528 MB of float weights x 5.8 + "
                             "0.6 GB); 2.0 GB is available")
    whole = memory.check("vgg16", "int8", 138_357_544 * 4, staged=False)  # in one process, as before issue 22
    assert whole.message().startswith("vgg16 int8: converting needs about 7.6 GB of memory (528 MB of float "
                                      "weights x 12.5 + 1.2 GB)")
    assert memory.check("lenet5", "int8", 61_706 * 4).fits


def test_a_model_converted_before_uses_its_recorded_peak(monkeypatch, tmp_path):
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path))
    entry = tmp_path / "convert" / "k1"
    entry.mkdir(parents=True)
    side = {"model": "resnet50", "params": 25_636_712, "quantization": {"mode": "fp32"},
            "conversion_peak_rss_mb": 2610}
    (entry / "meta.json").write_text(json.dumps({"sidecar": side}))
    # the study knows only the published parameter count (25.6 M), within 5% of the built model's
    need, basis = memory.expected_peak(int(25.6e6 * 4), "fp32", "resnet50")
    assert need == 2610 * memory.MB and basis == "its peak when converted here before"
    assert memory.expected_peak(int(25.6e6 * 4), "int8", "resnet50")[1].endswith("x 12.5 + 1.2 GB")
    assert memory.expected_peak(int(11.7e6 * 4), "fp32", "resnet18")[0] < 2610 * memory.MB


@pytest.fixture(scope="module")
def lenet_int8(tmp_path_factory, tf):
    """LeNet-5 at 32x32 in int8 by ``convert`` (the SavedModel path) and by TF's ``from_keras_model`` (the
    path before issue 22) on the same float model and calibration samples."""
    import os

    from converters import calibration as cal
    from converters import convert
    from converters._tf import quiet_tf
    from converters.calibration import Feed
    from converters.prepared import settle_random_zoo
    from converters.preprocess import apply
    from converters.source import load_float, resolve
    from converters.tflite import make_converter
    from edgekit.quant_modes import QuantConfig, QuantMode

    root = tmp_path_factory.mktemp("mem")
    os.environ["EDGEKIT_CACHE_DIR"] = str(root / "cache")
    try:
        results = {q: convert("lenet5", q, samples=4, input_size=32, output=root / f"lenet5_{q}.tflite")
                   for q in ("fp32", "int8")}
    finally:
        del os.environ["EDGEKIT_CACHE_DIR"]
    old = {}
    src = resolve("lenet5", 32)
    for q in ("fp32", "int8"):
        fm = load_float(src)
        settle_random_zoo(src, fm, src.preprocess, lambda _m: None)
        data = cal.load(cal.parse_calibration(None, fm.input_shape[2]), fm.input_shape, 4, 8)
        x = apply(data.calibration, src.preprocess)
        with quiet_tf() as tf_:
            conv = make_converter(tf_, src, fm, QuantConfig(QuantMode(q)), Feed(x, None) if q == "int8" else None)
            old[q] = conv.convert()
    return results, old


@pytest.mark.slow
def test_savedmodel_path_gives_the_same_bytes(lenet_int8):
    results, old = lenet_int8
    for q, result in results.items():
        assert result.path.read_bytes() == old[q], f"{q}: the converted file changed"


def _staged_everywhere(monkeypatch, tmp_path) -> None:
    """Every conversion in stages, LeNet-5's two larger dense kernels quantized in pieces of a few rows
    (converters.chunked: 12 and 4 one-layer models)."""
    from converters import chunked

    monkeypatch.setattr(memory, "STAGED_FROM_BYTES", 0)
    monkeypatch.setattr(chunked, "CHUNK_FROM_ELEMENTS", 5000)
    monkeypatch.setattr(chunked, "ROWS_PER_PIECE_ELEMENTS", 4000)
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path / "cache"))


def _same_as_one_process(q: str, written, peak, meta, lenet_int8) -> None:
    from converters.stages import stages_for
    from edgekit.quant_modes import QuantConfig

    here = lenet_int8[0][q]
    assert written.read_bytes() == here.path.read_bytes(), f"{q}: the staged conversion changed the file"
    assert meta["fidelity"] == here.metadata["fidelity"]
    peaks = meta["conversion_stage_peak_rss_mb"]
    assert tuple(peaks) == stages_for(QuantConfig(q))
    assert 0 < max(peaks.values()) <= peak < 4096


@pytest.mark.slow
@pytest.mark.heavy  # the whole int8 chain of processes (16 s), as its fp32 twin: CI's heavy tier
def test_staged_int8_gives_the_same_bytes(lenet_int8, tmp_path, monkeypatch):
    """The chain of processes large models convert in (converters.stages: prepare, core, calibrate, quantize,
    final), through the command line, with the dense kernels in pieces, writes the bytes one process writes,
    records each stage's peak memory, and keeps --json clean of TensorFlow's prints."""
    _staged_everywhere(monkeypatch, tmp_path)
    out = tmp_path / "lenet5_int8.tflite"
    run = run_cli("convert", "lenet5", "--int8", "--input-size", "32", "--samples", "4", "-o", str(out), "--json",
                  env={"EDGEKIT_CACHE_DIR": str(tmp_path / "cache")})
    assert run.code == 0, run.err[-2000:]
    doc = json.loads(run.out)
    _same_as_one_process("int8", out, doc["peak_rss_mb"], doc["metadata"], lenet_int8)
    assert doc["metadata"]["conversion_dense_layers_in_pieces"] == 2


@pytest.mark.slow
@pytest.mark.heavy  # 10 s: CI's heavy tier (the int8 chain above runs the same stages but calibrate and quantize)
def test_staged_fp32_gives_the_same_bytes(lenet_int8, tmp_path, monkeypatch):
    from converters import convert

    _staged_everywhere(monkeypatch, tmp_path)
    result = convert("lenet5", "fp32", samples=4, input_size=32, output=tmp_path / "lenet5_fp32.tflite")
    _same_as_one_process("fp32", result.path, result.peak_rss_mb, result.metadata, lenet_int8)


@pytest.mark.slow
@pytest.mark.heavy  # about 10 s: CI's heavy tier
def test_ctrl_c_in_a_staged_conversion(tmp_path):
    """Ctrl-C (to the process group, as a terminal sends it) once the core stage has written its file: the stage
    running then and the command both stop, exit 130 with one line, and nothing is left: no output, no stage
    process, no stage folder."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EDGEKIT_CACHE_DIR": str(tmp_path / "cache"),
           "TMPDIR": str(tmp_path / "tmp")}
    proc = subprocess.Popen([sys.executable, "-m", "tests._staged_convert", "convert", "lenet5", "--int8",
                             "--samples", "50", "-o", "out.tflite"], cwd=tmp_path, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "tmp").glob("edgekit-stages-*/core.tflite")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and out == "", err[-3000:]
    assert [x for x in err.splitlines() if x.startswith("edgekit: error:")] == [
        "edgekit: error: interrupted; no output was written"] and "Traceback" not in err
    assert not (tmp_path / "out.tflite").exists() and not list((tmp_path / "tmp").iterdir())
    assert not list((tmp_path / "cache").rglob("*.tflite"))


@pytest.mark.slow
def test_peak_memory_in_sidecar_and_json(lenet_int8):
    results, _ = lenet_int8
    for result in results.values():
        side = json.loads(result.sidecar_path.read_text())
        # TensorFlow alone is several hundred MB; a 32x32 LeNet-5 conversion stays far below 4 GB
        assert 200 < side["conversion_peak_rss_mb"] < 4096
        assert "VmHWM" in side["conversion_peak_rss_method"] or "whole" in side["conversion_peak_rss_method"]
        assert result.to_dict()["peak_rss_mb"] == side["conversion_peak_rss_mb"] == result.peak_rss_mb


@pytest.mark.slow
def test_convert_guard_one_line_then_force(tmp_path, tf):
    env = {"EDGEKIT_MEMORY_AVAILABLE_MB": "100", "EDGEKIT_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "l.tflite"
    run = run_cli("convert", "lenet5", "--int8", "--input-size", "32", "--samples", "2", "-o", str(out), env=env)
    line = assert_one_line_error(run)
    assert "lenet5 int8: converting needs about 1,232 MB of memory" in line
    assert "100 MB is available" in line and "--force" in line
    assert not out.exists()
    forced = run_cli("convert", "lenet5", "--int8", "--input-size", "32", "--samples", "2", "-o", str(out),
                     "--force", "--json", env=env)
    assert forced.code == 0, forced.err[-2000:]
    doc = json.loads(forced.out)
    assert doc["peak_rss_mb"] > 200 and out.is_file()


@pytest.mark.slow
@pytest.mark.heavy  # a whole study (converts and measures LeNet-5): CI's heavy tier; convert's guard line stays here
def test_study_skips_the_model_that_does_not_fit(tmp_path, tf):
    """MobileNet v2 int8 is expected to need ~1,396 MB, LeNet-5 ~1,232 MB: with 1,300 MB "available" the study says so
    in one line, skips MobileNet v2 with a row that says why, and finishes LeNet-5 (estimated targets only, so
    nothing is measured)."""
    env = {"EDGEKIT_MEMORY_AVAILABLE_MB": "1300", "EDGEKIT_CACHE_DIR": str(tmp_path / "cache"),
           "EDGEKIT_BENCH_DIR": str(tmp_path / "models")}
    out = tmp_path / "out"
    run = run_cli("study", "--models", "lenet5,mobilenetv2", "--quant", "fp32,int8", "--targets", "rpi4",
                  "--quick", "--out", str(out), "--db", str(tmp_path / "r.db"), env=env, cwd=tmp_path)
    assert run.code == 0, run.err[-3000:]
    lines = [line for line in run.err.splitlines() if "mobilenetv2" in line and "needs about" in line]
    assert len(lines) == 1, run.err
    assert lines[0].startswith("study: mobilenetv2 int8: converting needs about 1,396 MB of memory")
    assert "1,300 MB is available; skipping mobilenetv2 (--force converts it anyway)" in lines[0]
    doc = json.loads((out / "results.json").read_text())
    assert {r["model"] for r in doc["rows"]} == {"lenet5"} and len(doc["rows"]) == 2
    reason = lines[0][len("study: "):].split("; skipping")[0]
    assert doc["plan"]["skipped"] == [{"model": "mobilenetv2", "reason": reason}]
    report = (out / "report.md").read_text()
    assert "| mobilenetv2 | - | fp32, int8 | rpi4 | skipped, not converted: mobilenetv2 int8: converting needs" \
        in report
    assert "forecast" in run.err and "study done in" in run.err


def test_cache_only_raises_on_a_miss_without_tensorflow(monkeypatch, tmp_path):
    """The study asks the cache first and starts a conversion process only on a miss."""
    import sys

    from converters.convert import NotCached, convert

    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path))
    had_tf = "tensorflow" in sys.modules
    with pytest.raises(NotCached, match="lenet5 in fp32 is not in the conversion cache"):
        convert("lenet5", "fp32", output=tmp_path / "l.tflite", cache_only=True)
    assert had_tf or "tensorflow" not in sys.modules
    assert not (tmp_path / "l.tflite").exists()
