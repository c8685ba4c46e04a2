"""The Keras baseline for ``--target gpu`` on any Keras 3 backend: the registry's selection logic (with fake
backends, no framework imported), the build path free of TensorFlow, and a real run on this machine's CPU.
The GPU run itself is scripts/gpu_check.sh's job, on a GPU machine."""

from __future__ import annotations

import ast
import importlib.machinery
import sys
import types
from importlib import metadata
from pathlib import Path

import pytest

from converters import keras_gpu
from converters.keras_gpu import REGISTRY, BackendSpec, KerasBackend, NoBackendError, select_backend
from edgekit.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
FAST = {"runs": 5, "warmup": 1, "min_seconds": 0.0}


def _never(*_):
    raise AssertionError("this backend must not be probed")


def _fake(name: KerasBackend, *, installed: bool, gpus=None) -> BackendSpec:
    module = "json" if installed else "edgekit_no_such_module"
    probe = _never if gpus is None else (lambda: list(gpus))
    return BackendSpec(name, module, (), f"install {name.value}", probe, _never, _never, "fake")


def _registry(*specs: BackendSpec) -> dict:
    return {s.name: s for s in specs}


def test_registry_has_one_record_per_backend():
    assert list(REGISTRY) == list(KerasBackend)
    assert all(spec.name is key for key, spec in REGISTRY.items())


def test_first_installed_backend_that_sees_a_gpu_wins():
    reg = _registry(_fake(KerasBackend.JAX, installed=False), _fake(KerasBackend.TORCH, installed=True, gpus=[]),
                    _fake(KerasBackend.TENSORFLOW, installed=True, gpus=["NVIDIA H100"]))
    spec, device = select_backend("gpu", requested="", registry=reg)
    assert spec.name is KerasBackend.TENSORFLOW and device == "NVIDIA H100"


def test_keras_backend_env_is_the_only_one_probed(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "JAX")
    reg = _registry(_fake(KerasBackend.JAX, installed=True, gpus=["gpu0"]), _fake(KerasBackend.TORCH, installed=True),
                    _fake(KerasBackend.TENSORFLOW, installed=True))  # these two would raise if probed
    assert select_backend("gpu", registry=reg)[0].name is KerasBackend.JAX


def test_cpu_takes_the_first_installed_without_probing_gpus():
    reg = _registry(_fake(KerasBackend.JAX, installed=False), _fake(KerasBackend.TORCH, installed=True),
                    _fake(KerasBackend.TENSORFLOW, installed=True))
    assert select_backend("cpu", requested="", registry=reg)[0].name is KerasBackend.TORCH


def test_none_installed_is_one_clear_line():
    reg = _registry(*(_fake(b, installed=False) for b in KerasBackend))
    with pytest.raises(NoBackendError) as err:
        select_backend("gpu", requested="", registry=reg)
    msg = str(err.value)
    assert "\n" not in msg and "no Keras backend is installed (looked for jax, torch, tensorflow)" in msg
    assert "pip install 'edgekit[gpu]'" in msg


def test_no_gpu_names_each_backend_and_what_it_saw():
    reg = _registry(_fake(KerasBackend.JAX, installed=False), _fake(KerasBackend.TORCH, installed=True, gpus=[]),
                    _fake(KerasBackend.TENSORFLOW, installed=True, gpus=[]))
    with pytest.raises(NoBackendError, match=r"no Keras backend sees a GPU: jax: not installed \(install jax\); "
                                             r"torch None: no GPU devices; tensorflow None: no GPU devices"):
        select_backend("gpu", requested="", registry=reg)


def test_unknown_backend_is_a_usage_error_with_a_suggestion():
    with pytest.raises(UsageError, match=r"unknown Keras backend \(KERAS_BACKEND\) 'jaxx' \(did you mean jax\?\); "
                                          r"choose from: jax, torch, tensorflow"):
        select_backend("gpu", requested="jaxx")


def test_unknown_device_is_a_usage_error():
    with pytest.raises(UsageError, match=r"unknown device 'tpu' .*; choose from: gpu, cpu"):
        select_backend("tpu", requested="jax")


def test_a_process_running_another_backend_is_refused(monkeypatch):
    fake_keras = types.ModuleType("keras")
    fake_keras.__spec__ = importlib.machinery.ModuleSpec("keras", None)
    fake_keras.backend = types.SimpleNamespace(backend=lambda: "tensorflow")
    monkeypatch.setitem(sys.modules, "keras", fake_keras)
    monkeypatch.setattr(keras_gpu, "REGISTRY", _registry(_fake(KerasBackend.JAX, installed=True, gpus=["gpu0"])))
    with pytest.raises(NoBackendError, match=r"already runs the tensorflow backend .* cannot switch to jax"):
        keras_gpu.keras_call("lenet5", device="gpu", backend="jax")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_build_path_needs_no_tensorflow():
    """``edgekit.models.build`` and every builder it loads, followed import by import, never name TensorFlow
    (Keras 3 on JAX or PyTorch builds them; gpu_check.sh runs them so on the GPU machine, which has no TF)."""
    todo = ["edgekit.models"] + [f"edgekit.models.{spec.module}" for spec in __import__(
        "edgekit.models.registry", fromlist=["REGISTRY"]).REGISTRY.values()]
    seen: set[str] = set()
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        path = ROOT / Path(*mod.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        found = _imports(path)
        bad = {n for n in found if n.split(".")[0] in ("tensorflow", "tf_keras", "converters")}
        assert not bad, f"{mod} imports {bad}"
        todo += [n for n in found if n.startswith("edgekit.models.")]
    assert "edgekit.models.mobilenetv2" in seen and "edgekit.models._keras" in seen


@pytest.mark.tf
def test_baseline_runs_on_cpu_and_records_the_backend(tf):
    from edgekit.app.gpu_baseline import baseline_in_child

    doc = baseline_in_child("lenet5", device="cpu", backend="tensorflow", **FAST)
    assert doc["keras_backend"] == "tensorflow" and doc["target"] == "cpu" and doc["measured"] is True
    assert doc["backend_version"] == tf.__version__ and doc["keras_version"] == metadata.version("keras")
    assert doc["runs"] >= FAST["runs"] and 0 < doc["latency_ms"]["min"] <= doc["latency_ms"]["p50"]
    assert doc["call"] == REGISTRY[KerasBackend.TENSORFLOW].call and doc["execution"] == "graph"
    assert list(doc["phase_s"]) == ["import", "build", "compile", "warmup", "timed"]  # each printed as it ends


def test_each_phase_prints_its_time_as_it_ends():
    import io

    from edgekit.app.gpu_baseline import PhaseClock

    out = io.StringIO()
    clock = PhaseClock(out)
    clock("import")
    clock("build")
    lines = out.getvalue().splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["phase import", "phase build"]
    assert set(clock.seconds) == {"import", "build"} and all(v >= 0 for v in clock.seconds.values())
    assert lines[1].endswith(f"(total {clock.last - clock.start:.3f} s)")


def test_backends_say_how_they_execute():
    assert {b: REGISTRY[b].execution for b in KerasBackend} == {
        KerasBackend.JAX: "jit", KerasBackend.TORCH: "eager", KerasBackend.TENSORFLOW: "graph"}


def test_the_child_reports_a_bad_backend_as_the_same_error():
    from edgekit.app.gpu_baseline import baseline_in_child

    with pytest.raises(UsageError, match=r"unknown Keras backend .*'numpy'"):
        baseline_in_child("lenet5", device="cpu", backend="numpy", **FAST)


def test_baselines_skip_files_and_says_why_a_backend_cannot_run(monkeypatch):
    """KERAS_BACKEND=tensorflow here: TF-CPU sees no GPU; on the GPU machine TF is not installed. Either way
    the zoo model's baseline names the reason, and a .tflite file has no Keras model."""
    from edgekit.app.gpu_baseline import baselines

    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    results = [{"baseline": b} for b in baselines(["tiny_fp32", "lenet5", "vgg16"], **FAST)]
    assert results[0]["baseline"] == {"skipped": "a .tflite file has no Keras model to compare with"}
    if "latency_ms" in results[1]["baseline"]:  # a machine whose TensorFlow sees a GPU
        assert results[1]["baseline"]["keras_backend"] == "tensorflow" and results[1]["baseline"]["target"] == "gpu"
    else:
        reason = results[1]["baseline"]["skipped"]
        assert reason.startswith(("no Keras backend sees a GPU: tensorflow", "no Keras backend is installed "
                                  "(looked for tensorflow)")), reason
        assert results[2]["baseline"] == {"skipped": reason}  # asked once, not once per model


def test_zoo_default_backend_is_tensorflow_then_jax_then_torch(monkeypatch):
    from edgekit.models import _keras

    def only(*names):
        monkeypatch.setattr(_keras.importlib.util, "find_spec", lambda n: object() if n in names else None)

    only("tensorflow", "jax")
    assert _keras.default_backend() == "tensorflow"
    only("torch", "jax")
    assert _keras.default_backend() == "jax"
    only("torch")
    assert _keras.default_backend() == "torch"
    only()
    assert _keras.default_backend() == "tensorflow"  # Keras's own default, and its error names TensorFlow
