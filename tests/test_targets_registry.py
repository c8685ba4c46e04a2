"""Target registry and user TOML targets (fast tier: no TensorFlow)."""

from __future__ import annotations

import pytest

from edgekit.errors import UsageError
from targets.registry import REGISTRY, TargetName, get_target
from targets.userfile import TargetFileError, load_target_file, parse_target
from tests.conftest import assert_one_line_error, run_cli

GOOD = """
name = "jetson-cpu"
title = "Jetson Nano CPU"
sources = ["NVIDIA datasheet"]
[cpu]
cores = 4
ghz = 1.43
fp32_flops_per_cycle_per_core = 8
int8_ops_per_cycle_per_core = 16
memory_gbps = 10
"""


def test_builtins_have_figures_and_sources():
    for name in ("rpi4", "rpi5", "coral-usb", "coral-devboard"):
        t = get_target(name)
        assert t.cpu is not None and t.sources, name
    assert get_target("coral-usb").accelerator.int8_tops == 4.0
    assert get_target("coral-usb").accelerator.param_cache_bytes == 8 << 20
    assert get_target("rpi5").cpu.ghz == 2.4 and get_target("rpi4").cpu.cores == 4
    assert REGISTRY[TargetName.CPU].cpu is None and get_target("gpu").name == TargetName.GPU


def test_rpi_alias_and_unknown_name():
    assert get_target("rpi") is get_target("rpi4")
    with pytest.raises(UsageError, match="did you mean rpi4"):
        get_target("rpi44")


def test_user_target_found_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKIT_HOME", str(tmp_path))
    (tmp_path / "targets").mkdir()
    (tmp_path / "targets" / "jetson-cpu.toml").write_text(GOOD)
    t = get_target("jetson-cpu")
    assert t.cpu.ghz == 1.43 and t.cpu.description == "" and t.accelerator is None and t.cpu.family == "generic"
    assert t.origin.endswith("jetson-cpu.toml")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s.replace("ghz = 1.43", "ghz = -1"), "ghz must be greater than 0, got -1"),
    (lambda s: s.replace("cores = 4", "cores = 4.5"), "cores must be a whole number"),
    (lambda s: s.replace("ghz = 1.43", "gz = 1.43"), "unknown field 'gz' (did you mean ghz?)"),
    (lambda s: s.replace("memory_gbps = 10", ""), "missing field 'memory_gbps'"),
    (lambda s: s.replace('"jetson-cpu"', '"rpi4"'), "is a built-in target"),
    (lambda s: s.replace('"jetson-cpu"', '"Bad Name"'), "name must be"),
    (lambda s: s + "[accelerator]\nint8_tops = 4\n", "[accelerator]: missing field"),
    (lambda s: s.replace("[cpu]", "[cpu"), "not valid TOML"),
    (lambda s: s.replace('memory_gbps = 10', 'memory_gbps = "fast"'), "memory_gbps must be a number"),
    (lambda s: s.replace("memory_gbps = 10", 'memory_gbps = 10\nfamily = "cortex-a57"'),
     "family must be one of cortex-a53, cortex-a72, cortex-a76, x86-avx2, x86-avx512, generic, got 'cortex-a57' "
     "(did you mean"),
])
def test_invalid_toml_is_one_clear_error(edit, message):
    with pytest.raises(TargetFileError) as err:
        parse_target(edit(GOOD), "t.toml")
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith("t.toml")


def test_accelerator_target_gets_edgetpu_delegate():
    t = parse_target(GOOD + "[accelerator]\nint8_tops = 4\nparam_cache_bytes = 8388608\nhost_link_gbps = 0.5\n"
                     'link = "USB 3.0"\n', "t.toml")
    assert t.delegate == "edgetpu" and t.accelerator.host_overhead_ms == 0.0


def test_missing_target_file():
    with pytest.raises(TargetFileError, match="not found"):
        load_target_file("/nonexistent/x.toml")


def test_cli_targets_json_lists_builtins_and_user(tmp_path):
    (tmp_path / "targets").mkdir()
    (tmp_path / "targets" / "jetson-cpu.toml").write_text(GOOD)
    run = run_cli("targets", "--json", env={"EDGEKIT_HOME": str(tmp_path)})
    assert run.code == 0, run
    doc = run.json()
    names = [t["name"] for t in doc["targets"]]
    assert names[:6] == ["cpu", "gpu", "rpi4", "rpi5", "coral-usb", "coral-devboard"] and "jetson-cpu" in names
    assert doc["aliases"]["rpi"] == "rpi4"
    rpi4 = doc["targets"][2]
    assert rpi4["cpu"]["memory_gbps"] == 5.5 and rpi4["sources"]


def test_cli_bad_target_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("cores = 4", "cores = 0"))
    run = run_cli("targets", "--target-file", str(bad), env={"EDGEKIT_HOME": str(tmp_path)})
    line = assert_one_line_error(run, 2)
    assert "cores must be greater than 0" in line


def test_each_target_says_how_it_is_served():
    from edgekit.study.plan import StudyPlan
    from targets.registry import Method

    def how(name, **kw):
        return get_target(name).method(**kw)

    assert (how("cpu"), how("gpu"), how("rpi4"), how("coral-usb")) == (
        Method.LOCAL, Method.GPU, Method.ESTIMATE, Method.ESTIMATE)
    assert how("rpi4", host=True) is Method.REMOTE and how("auto") is Method.REMOTE
    assert how("cpu", estimate=True) is Method.ESTIMATE and how("rpi5", estimate=True) is Method.ESTIMATE
    assert how("cortex-m4") is Method.MCU and how("cortex-m7", host=True, estimate=True) is Method.MCU
    plan = StudyPlan(models=("lenet5",), quants=("fp32",), targets=("cpu", "rpi4", "rpi5", "cortex-m4"),
                     hosts={"rpi5": "pi@pi5"})
    assert [t for t in plan.targets if plan.measured_here(t)] == ["cpu", "rpi5"]
