"""Energy per inference without the hardware: a fake powercap tree advanced by a writer process (RAPL), recorded
``vcgencmd pmic_read_adc`` output (Raspberry Pi 5), a fake NVML module, and the estimator's cross-validation."""

from __future__ import annotations

import io
import itertools
import json
import math
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bench import energy
from bench.energy_pi5 import PmicSampler, parse, power_w
from edgekit.energy import KEYS, EnergyFigure, combine_errors, energy_text
from edgekit.result import Result

DATA = Path(__file__).parent / "data"

# The writer: energy_uj advances at IDLE_W, or BUSY_W while the flag file exists, and wraps at MAX_UJ.
WRITER = textwrap.dedent("""
    import os, sys, time
    root, idle_w, busy_w, max_uj, start_uj = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), \\
        float(sys.argv[5])
    path, flag, e, t = os.path.join(root, "intel-rapl:0", "energy_uj"), os.path.join(root, "busy"), start_uj, \\
        time.monotonic()
    while not os.path.exists(os.path.join(root, "stop")):
        time.sleep(0.002)
        now = time.monotonic()
        e += (busy_w if os.path.exists(flag) else idle_w) * (now - t) * 1e6
        t = now
        with open(path + ".tmp", "w") as f:
            f.write(str(int(e) % max_uj))
        os.replace(path + ".tmp", path)
""")


def _tree(root: Path, *, max_uj: int, start_uj: int) -> Path:
    pkg = root / "intel-rapl:0"
    pkg.mkdir(parents=True)
    (pkg / "name").write_text("package-0\n")
    (pkg / "max_energy_range_uj").write_text(f"{max_uj}\n")
    (pkg / "energy_uj").write_text(f"{start_uj}\n")
    core = root / "intel-rapl:0:0"  # a subdomain: not a package, not counted
    core.mkdir()
    (core / "name").write_text("core\n")
    (core / "max_energy_range_uj").write_text(f"{max_uj}\n")
    (core / "energy_uj").write_text("0\n")
    return root


@pytest.fixture
def rapl(tmp_path):
    """A powercap tree whose package counter a writer process advances: 2 W idle, 7 W busy, wrapping at 10 J,
    starting 1 J short of the wrap (so the first second of reads crosses it)."""
    max_uj = 10_000_000
    root = _tree(tmp_path / "powercap", max_uj=max_uj, start_uj=max_uj - 1_000_000)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(root), "2.0", "7.0", str(max_uj),
                             str(max_uj - 1_000_000)])
    time.sleep(0.2)
    yield root
    (root / "stop").write_text("")
    proc.wait(timeout=10)


def test_delta_handles_one_wrap():
    assert energy.delta_uj(100, 350, 1000) == 250
    assert energy.delta_uj(900, 50, 1000) == 150  # wrapped at 1000


def test_rapl_counts_across_wraparound_at_the_writers_rate(rapl):
    counter = energy.Rapl(rapl)
    assert counter.name == "RAPL package-0" and [d.name for d in counter.domains] == ["package-0"]
    raw = lambda: int((rapl / "intel-rapl:0" / "energy_uj").read_text())  # noqa: E731
    e0, t0, seen = counter.read_uj(), time.monotonic(), [raw()]
    for _ in range(12):  # 1.2 s at 2 W = 2.4 J: past the wrap from under 1 J short of it
        time.sleep(0.1)
        counter.read_uj()
        seen.append(raw())
    e1, t1 = counter.read_uj(), time.monotonic()
    assert any(b < a for a, b in itertools.pairwise(seen)), "the raw counter never wrapped during the test"
    watts = (e1 - e0) / (t1 - t0) / 1e6
    assert watts == pytest.approx(2.0, rel=0.25)


def test_idle_baseline_is_subtracted_and_power_reported(rapl):
    counter = energy.Rapl(rapl)

    def block() -> dict:
        (rapl / "busy").write_text("")
        time.sleep(0.6)
        (rapl / "busy").unlink()
        return {"samples_ms": [1.0] * 99, "warmup_runs": 0, "batch": 1}

    _, readings = energy.round_energy(counter, block, idle_s=0.4, calls=energy.measured_calls)
    assert readings["calls"] == 100
    mj, idle_w, above_w = energy.per_inference_mj(readings)
    assert idle_w == pytest.approx(2.0, rel=0.25)
    assert above_w == pytest.approx(5.0, rel=0.25)  # 7 W busy - 2 W idle
    assert mj == pytest.approx(5.0 * readings["busy_s"] / 100 * 1e3, rel=0.25)


def test_with_energy_through_the_env_var_and_rounds_give_an_interval(rapl, monkeypatch):
    monkeypatch.setenv(energy.POWERCAP_ENV, str(rapl))
    rounds = [energy.with_energy("cpu", lambda: {"samples_ms": [1.0] * 10, "warmup_runs": 1, "batch": 1},
                                 idle_s=0.05) for _ in range(6)]
    fig = energy.figure_from_rounds(rounds)
    assert fig.measured and fig.rounds == 6 and fig.source == "RAPL package-0"
    assert "whole CPU socket" in fig.covers and "not this process" in fig.covers
    assert fig.low_mj <= fig.mj <= fig.high_mj
    assert fig.idle_w == pytest.approx(2.0, rel=0.5)
    assert EnergyFigure.from_dict(fig.to_dict()) == EnergyFigure.from_dict(EnergyFigure(**vars(fig)).to_dict())


def test_unreadable_energy_uj_says_why_and_how_to_allow_it(tmp_path, monkeypatch):
    root = _tree(tmp_path / "powercap", max_uj=10**9, start_uj=5)
    target = root / "intel-rapl:0" / "energy_uj"
    original = Path.read_text

    def denied(self, *a, **kw):  # root reads anything, so a chmod cannot show this here
        if self == target:
            raise PermissionError(13, "Permission denied")
        return original(self, *a, **kw)

    monkeypatch.setattr(Path, "read_text", denied)
    out = energy.with_energy("cpu", lambda: {"samples_ms": [1.0], "batch": 1}, root=root)
    line = out["energy_unavailable"]
    assert "CVE-2020-8694" in line and f"sudo chmod o+r {target}" in line and "udev" in line
    assert "\n" not in line and out["samples_ms"] == [1.0]
    fig = energy.figure_from_rounds([out])
    assert fig.mj is None and fig.note == line


def test_no_powercap_tree_is_one_line(tmp_path):
    out = energy.with_energy("cpu", lambda: {"samples_ms": [1.0]}, root=tmp_path / "absent")
    assert "no RAPL here" in out["energy_unavailable"]


def test_a_child_round_reads_the_fake_rapl_and_the_result_carries_the_figure(rapl, monkeypatch):
    from bench.result import build_result
    from bench.runner import Config, run_child
    from edgekit.analysis.tflite_graph import read_tflite

    monkeypatch.setenv(energy.POWERCAP_ENV, str(rapl))
    cfg = Config(str(DATA / "tiny_fp32.tflite"), "tiny", "fp32", threads=1, runs=5, min_seconds=0.05,
                 warmup_seconds=0.05)
    rounds = [run_child(cfg) for _ in range(2)]
    assert all("energy" in r for r in rounds), rounds[0].get("energy_unavailable")
    doc = build_result(cfg, rounds, read_tflite(cfg.path), 1).to_dict()
    assert set(KEYS) <= doc.keys() and doc["energy_measured"] is True and doc["energy_rounds"] == 2
    assert doc["energy_source"] == "RAPL package-0" and doc["energy_mj"] >= 0


# ---- Raspberry Pi 5 PMIC ------------------------------------------------------------------------------------


def test_pmic_read_adc_parser_on_recorded_output():
    text = (DATA / "pmic_read_adc_pi5.txt").read_text()
    rails = parse(text)
    assert len(rails) == 12 and "EXT5V" not in rails and "BATT" not in rails  # voltage-only lines are not rails
    assert rails["VDD_CORE"] == (0.89369880, 5.03652000)
    assert rails["3V7_WL_SW"] == (3.61069200, 0.05855580)
    assert power_w(text) == pytest.approx(sum(v * a for v, a in rails.values()))
    assert 4.5 < power_w(text) < 6.0  # VDD_CORE alone is 4.5 W in this loaded reading
    with pytest.raises(ValueError, match="no rail"):
        power_w('error=1 error_msg="Command not registered"')


def test_pmic_sampler_integrates_power_over_time():
    text = (DATA / "pmic_read_adc_pi5.txt").read_text()
    now = [0.0]
    sampler = PmicSampler(period_s=3600, read=lambda: text, clock=lambda: now[0])
    try:
        now[0] = 2.0
        assert sampler.read_uj() == pytest.approx(power_w(text) * 2.0 * 1e6)
    finally:
        sampler.close()


def test_energy_pi5_is_stdlib_only():
    import ast

    tree = ast.parse((Path(energy.__file__).parent / "energy_pi5.py").read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert names <= set(sys.stdlib_module_names) | {"__future__"}


# ---- NVML ---------------------------------------------------------------------------------------------------


class FakeNvml:
    """pynvml's calls edgekit uses; ``total`` None means a pre-Volta GPU (no energy counter)."""

    def __init__(self, total_mj: float | None = 1000.0, power_mw: float = 50_000.0):
        self.total, self.power_mw, self.shutdown = total_mj, power_mw, False

    def nvmlInit(self):
        return None

    def nvmlDeviceGetHandleByIndex(self, i):
        return f"gpu{i}"

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        if self.total is None:
            raise RuntimeError("NVMLError_NotSupported")
        self.total += 250.0  # each read: 250 mJ more
        return int(self.total)

    def nvmlDeviceGetPowerUsage(self, handle):
        return self.power_mw

    def nvmlShutdown(self):
        self.shutdown = True


def test_nvml_total_energy_wraps_a_block():
    fake = FakeNvml()
    out, mj, seconds = energy.measure_mj(lambda: "ran", module=fake)
    assert out == "ran" and mj == 250.0 and seconds >= 0 and fake.shutdown


def test_nvml_falls_back_to_power_samples_before_volta():
    fake = FakeNvml(total_mj=None, power_mw=50_000.0)
    counter = energy.Nvml(module=fake, period_s=0.01)
    try:
        assert counter.name.startswith("NVML power samples") and counter.period_s == 0.01
        _, mj, seconds = energy.measure_mj(lambda: time.sleep(0.2), counter=counter)
        assert mj == pytest.approx(50.0 * seconds * 1e3, rel=0.05)  # 50 W x the block's time
    finally:
        counter.close()


def test_no_pynvml_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    with pytest.raises(energy.SensorUnavailable, match="pip install nvidia-ml-py"):
        energy.Nvml()


# ---- the figure and the estimator ---------------------------------------------------------------------------


def test_figure_round_trips_and_refuses_nonsense():
    fig = EnergyFigure(mj=1.5, measured=False, source="estimated: x", low_mj=1.0, high_mj=2.0, expected_error_pct=33)
    assert EnergyFigure.from_dict({"model": "m", **fig.to_dict()}) == fig
    assert EnergyFigure.from_dict({"model": "m"}) is None
    assert energy_text(fig) == "1.5 ±33% est."
    with pytest.raises(ValueError):
        EnergyFigure(mj=-1.0, measured=True, source="x")
    with pytest.raises(ValueError):
        EnergyFigure(mj=1.0, measured=True, source="x", expected_error_pct=10)
    assert combine_errors(11, 26) == 40  # 1.11 x 1.26 = 1.3986


def test_every_row_cites_a_source_with_url_and_date():
    from targets.energy_rows import load_rows

    rows = load_rows()
    for key, s in rows.sources.items():
        assert s["url"].startswith("https://") and s["date"] and s["title"], key
    used = {r.source for r in (*rows.boards, *rows.tiny, *rows.x86, *rows.networks)} | {a["source"]
                                                                                       for a in rows.accelerators}
    assert used == set(rows.sources)


def test_cross_validation_recomputed_matches_the_shipped_errors_and_docs():
    from targets import energy_cv as est

    rows = est.load_rows()
    held = est.cross_validate(rows)
    # Recompute one MCU row by hand: DS-CNN on the L4R5ZI from the board's other three networks' power.
    l4 = [r for r in rows.tiny if r.board == "NUCLEO-L4R5ZI"]
    kws = next(r for r in l4 if r.benchmark == "kws")
    power = statistics.median(r.uj_per_inference * r.inferences_per_s / 1e6 for r in l4 if r is not kws)
    row = next(h for h in held if h.board == "NUCLEO-L4R5ZI" and h.item == kws.network)
    assert row.predicted == pytest.approx(power / kws.inferences_per_s * 1e6)
    assert json.loads(est.EXPECTED_FILE.read_text()) == est.expected_errors(held)
    doc = est.DOC.read_text()
    assert est.render(held) in doc  # docs/energy.md shows this table: rerun python -m targets.energy --write
    errs = [abs(h.error) for h in held if h.family == est.MCU]
    assert math.ceil(100 * math.sqrt(sum(e * e for e in errs) / len(errs))) == est.expected_errors(held)[est.MCU]
    # Leave one NETWORK out on the Pi 4: MobileNet v2 fp32 from MobileNet v1 alone (v2 int8 is the same network).
    pi4 = [r for r in rows.networks if r.target == "rpi4"]
    assert {r.network for r in pi4} == {"MobileNet v1", "MobileNet v2"}
    v1 = next(r for r in pi4 if r.network == "MobileNet v1")
    fp32 = next(r for r in pi4 if r.network == "MobileNet v2" and r.quant == "fp32")
    row = next(h for h in held if h.family == est.BOARD_NET and h.board == fp32.label and h.item.endswith("fp32"))
    assert row.published == pytest.approx(fp32.latency_ms * (fp32.run_w - fp32.idle_w))
    assert row.predicted == pytest.approx(fp32.latency_ms * (v1.run_w - v1.idle_w))
    # The Edge TPU: each of its two networks from the other; the expected error is the RMS of the two.
    tpu = [r for r in rows.networks if r.runs_on == "edgetpu"]
    errs = [(b.run_w - b.idle_w) / (a.run_w - a.idle_w) - 1 for a, b in itertools.permutations(tpu, 2)]
    assert len(errs) == 2 and sorted(h.error for h in held if h.family == est.TPU_NET) == pytest.approx(sorted(errs))
    assert math.ceil(100 * math.sqrt(sum(e * e for e in errs) / 2)) == est.expected_errors(held)[est.TPU_NET]


@pytest.mark.parametrize("target", ["rpi4", "rpi5", "coral-usb", "cortex-m4", "cortex-m7"])
def test_estimates_carry_the_held_out_error_and_their_source(target):
    from targets import energy as est
    from targets.energy_rows import EXPECTED_FILE
    from targets.registry import get_target

    tgt = get_target(target)
    doc = {"target": target, "model": "m", "measured": False, "latency_ms": {"p50": 10.0}, "expected_error_pct": 11,
           "threads": 4, "runs_on": "edgetpu"}
    fig = est.estimate_energy(Result.from_dict(doc), tgt)
    assert fig.mj > 0 and not fig.measured and fig.expected_error_pct >= 11 and "https://" in fig.source
    assert fig.low_mj < fig.mj < fig.high_mj
    expected = json.loads(EXPECTED_FILE.read_text())
    nets = est.load_rows().networks
    if target == "coral-usb":  # 10 ms x the median power above idle of the Dev Board's Edge TPU runs
        watts = statistics.median(r.run_w - r.idle_w for r in nets if r.runs_on == "edgetpu")
        assert fig.mj == pytest.approx(10.0 * watts) and "DeepEdgeBench" in fig.source
        assert fig.expected_error_pct == combine_errors(11, expected[est.TPU_NET])
    if target == "rpi4":  # 10 ms x 4 threads x the median per-core power above idle of the Pi 4's TFLite runs
        watts = statistics.median(r.run_w - r.idle_w for r in nets if r.target == "rpi4")
        assert fig.mj == pytest.approx(10.0 * 4 * watts) and "x 4 thread(s)" in fig.source
        assert fig.expected_error_pct == combine_errors(11, expected[est.BOARD_NET])
    if target == "rpi5":  # no per-model rows: 10 ms x the median of the CM5's (8.5, 8.2, 9.4) W - 2.4 W
        assert fig.mj == pytest.approx(10.0 * 6.1) and fig.expected_error_pct == combine_errors(11, expected[est.PI])
    if target == "cortex-m4":  # the same board: 10 ms x its median power
        l4 = [r for r in est.load_rows().tiny if r.target == "cortex-m4"]
        assert fig.mj == pytest.approx(10.0 * statistics.median(r.power_w for r in l4))


def test_fewer_threads_draw_a_share_of_the_board():
    from targets import energy as est
    from targets.registry import get_target

    one = est.estimate_energy(_est({"latency_ms": {"p50": 10.0}, "threads": 1}), get_target("rpi4"))
    four = est.estimate_energy(_est({"latency_ms": {"p50": 10.0}, "threads": 4}), get_target("rpi4"))
    assert one.mj == pytest.approx(four.mj / 4)


def test_a_host_without_sensor_or_row_says_both():
    from targets.energy_host import host_fallback

    sensor = EnergyFigure.unavailable("none", "no RAPL here: /sys/class/powercap does not exist")
    fig = host_fallback(_measured({"device": {"cpu": "Some CPU"}, "latency_ms": {"p50": 1.0}}), sensor)
    assert fig.mj is None and fig.note.startswith("no RAPL here") and "'Some CPU'" in fig.note


def test_with_pmic_reads_a_round_on_a_pi5_and_says_why_elsewhere():
    from bench.energy_pi5 import with_pmic

    text = (DATA / "pmic_read_adc_pi5.txt").read_text()
    out = with_pmic(lambda: {"samples_ms": [2.0] * 9, "warmup_runs": 0, "batch": 1}, idle_s=0.01,
                    sampler=lambda: PmicSampler(period_s=0.005, read=lambda: text))
    r = out["energy"]
    assert r["calls"] == 10 and r["sensor"].startswith("Raspberry Pi 5 PMIC") and "not USB" in r["covers"]
    assert r["idle_uj"] / r["idle_s"] / 1e6 == pytest.approx(power_w(text), rel=0.05)  # constant power

    def missing():
        raise FileNotFoundError(2, "No such file or directory: 'vcgencmd'")

    out = with_pmic(lambda: {"samples_ms": [2.0]}, sampler=missing)
    assert out["energy_unavailable"].startswith("no Raspberry Pi 5 PMIC reading here") and out["samples_ms"] == [2.0]


def test_a_host_row_prices_a_measured_latency():
    from dataclasses import replace

    from targets.energy_host import host_fallback
    from targets.energy_rows import load_rows

    rows = replace(load_rows(), hosts=({"cpu": "Example CPU", "watts_per_core": 5.0, "expected_error_pct": 50,
                                        "source": "sbc-reviews-pi4"},))
    sensor = EnergyFigure.unavailable("none", "RAPL is not readable by this user")
    fig = host_fallback(_measured({"device": {"cpu": "Example CPU"}, "latency_ms": {"p50": 2.0}, "threads": 2}),
                        sensor, rows)
    assert fig.mj == pytest.approx(2.0 * 10.0) and fig.expected_error_pct == 50 and not fig.measured
    assert fig.note == "RAPL is not readable by this user" and "https://" in fig.source


def test_an_x86_host_without_rapl_is_estimated_from_the_profiled_cpus(monkeypatch):
    from targets import energy_cv as est
    from targets import energy_host

    monkeypatch.setattr(energy_host, "_x86", lambda: True)
    rows = est.load_rows()
    per_thread = statistics.median((r.load_w - r.idle_w) / r.threads for r in rows.x86)
    sensor = EnergyFigure.unavailable("none", "no RAPL here: /sys/class/powercap does not exist")
    doc = {"target": "cpu", "threads": 1, "device": {"cpu": "Intel(R) Xeon(R) Processor"}, "latency_ms": {"p50": 10.0},
           **sensor.to_dict()}
    fig = _fallback(doc)
    assert fig.mj == pytest.approx(10.0 * per_thread, rel=1e-3) and not fig.measured  # to_dict keeps 4 digits
    assert fig.expected_error_pct == est.expected_errors(est.cross_validate(rows))[est.X86]
    assert fig.note.startswith("no RAPL here") and "codecarbon" in fig.source
    gpu = _fallback({**doc, "target": "gpu"})
    assert gpu.mj is None  # a GPU's power is not a CPU's: no estimate


def _pi4_over_ssh(**extra) -> dict:
    """A Pi 4 result as the ssh runner stores it: measured latency, and the PMIC sampler's reason for no energy."""
    sensor = EnergyFigure.unavailable("none", "no Raspberry Pi 5 PMIC reading here (vcgencmd pmic_read_adc: "
                                              "not a Raspberry Pi 5)")
    return {"target": "rpi4", "model": "m", "threads": 4, "device": {"cpu": "Cortex-A72"}, "latency_ms": {"p50": 20.0},
            "measured": True, **sensor.to_dict(), **extra}


def _measured(doc: dict) -> Result:
    """A measured result record with just what the energy code reads."""
    return Result.from_dict({"target": "", "model": "m", **doc})  # no target: as the documents these tests had


def _est(doc: dict) -> Result:
    return Result.from_dict({"target": "rpi4", "model": "m", "measured": False, **doc})


def _fallback(doc: dict) -> EnergyFigure:
    """The energy figure ``targets.energy_host.with_host_fallback`` gives the measured result ``doc``."""
    from targets.energy_host import with_host_fallback

    return with_host_fallback(_measured(doc)).energy


def test_a_pi4_measured_over_ssh_is_priced_from_its_measured_latency():
    from targets import energy_cv as est

    fig = _fallback(_pi4_over_ssh())
    per_core = statistics.median(r.run_w - r.idle_w for r in est.load_rows().networks if r.target == "rpi4")
    assert fig.mj == pytest.approx(20.0 * 4 * per_core, rel=1e-3) and not fig.measured
    assert fig.expected_error_pct == est.expected_errors(est.cross_validate())[est.BOARD_NET]  # power's error alone
    assert fig.source.startswith("measured latency x") and "arxiv.org/abs/2108.09457" in fig.source
    assert fig.note.startswith("no Raspberry Pi 5 PMIC reading here") and energy_text(fig).endswith("est.")
    tpu = _fallback(_pi4_over_ssh(target="coral-usb", delegate="edgetpu"))
    assert "Edge TPU" in tpu.source and tpu.expected_error_pct == est.expected_errors(est.cross_validate())[
        est.TPU_NET]
    auto = _fallback(_pi4_over_ssh(target="aarch64"))  # --target auto's name
    assert auto.mj is None and "no published power figure" in auto.note


def test_the_ssh_result_record_carries_the_estimate(monkeypatch):
    from targets import remote_result

    monkeypatch.setattr(remote_result, "build_result", lambda cfg, rounds, graph, macs, round_ids=None:
                        Result.from_dict({**_pi4_over_ssh(), "target": "aarch64"}))  # to_result names the target
    monkeypatch.setattr(remote_result, "warnings_for", lambda doc, governor: [])
    facts = {"cpu": "Cortex-A72", "governor": "ondemand", "cpu_temp_c": 50.0, "throttled": None}
    measured = {"device": facts, "after": {"cpu_temp_c": 51.0, "throttled": None}, "tf_imported": False,
                "delegate": None}
    doc = remote_result.to_result(None, measured, None, 0, "pi@dev", target="rpi4").to_dict()
    fig = EnergyFigure.from_dict(doc)
    assert fig.mj is not None and not fig.measured and fig.source.startswith("measured latency x")


def test_results_history_shows_energy_with_its_marks(tmp_path, monkeypatch, capsys):
    from edgekit.cli.bench_report import print_history

    monkeypatch.setenv("COLUMNS", "250")
    base = {"run_id": "r1", "time_utc": "2026-12-04 14:00", "target": "cpu", "model": "m", "quant": "int8",
            "threads": 1, "latency_ms": {"p50": 2.0, "ci95": [1.9, 2.1]}, "peak_rss_mb": 10.0, "commit": "abc"}
    measured = EnergyFigure(mj=12.0, low_mj=11.0, high_mj=13.0, measured=True, source="RAPL package-0")
    estimated = EnergyFigure(mj=31.0, low_mj=20.0, high_mj=42.0, measured=False, source="latency x 1 W",
                             expected_error_pct=35)
    rows = [{**base, "id": 1, **measured.to_dict()}, {**base, "id": 2, **estimated.to_dict()},
            {**base, "id": 3}, {**base, "id": 4, "error": "boom"}]
    print_history([Result.from_dict(r) for r in rows])
    out = capsys.readouterr().out
    assert "energy mJ" in out and "12 (11–13)" in out and "31 ±35% est." in out
    assert out.count(" - ") >= 2  # no figure: a result stored before energy, and a failed one


def test_a_gpu_baseline_row_carries_nvml_energy_and_the_gpu_report_shows_it():
    """The Keras baseline and the torchvision peer (edgekit.app.gpu_baseline.time_phases) read NVML around their
    timed loop, after an idle baseline; scripts/gpu_check.sh's report shows the figure, or why there is none."""
    from edgekit.app import gpu_report
    from edgekit.app.gpu_baseline import PhaseClock, time_phases

    fake = FakeNvml()  # each read: 250 mJ more, so idle and busy both read 250 mJ
    calls = []
    doc = time_phases(lambda: calls.append(1), PhaseClock(stream=io.StringIO()), runs=5, warmup=1, min_seconds=0,
                      max_seconds=5, sensor="gpu", nvml_module=fake)
    fig = EnergyFigure.from_dict(doc)
    assert fig.measured and fig.source.startswith("NVML") and fig.rounds == 1 and fake.shutdown
    # idle: 250 mJ over the 0.3 s pause; the timed loop: 250 mJ over a few ms, shared by its calls
    assert fig.idle_w == pytest.approx(0.25 / 0.3, rel=0.2)
    assert fig.mj == pytest.approx(250.0 / doc["runs"], rel=0.05)
    row = gpu_report._row("keras-jax-gpu", {**doc, "model": "mobilenetv2", "keras_backend": "jax",
                                            "backend_version": "0.11", "target": "gpu", "device_name": "H200"})
    assert EnergyFigure.from_dict(row) == fig
    none = time_phases(lambda: None, PhaseClock(stream=io.StringIO()), runs=3, warmup=1, min_seconds=0,
                       max_seconds=5, sensor="cpu")  # RAPL: none on this VM, or root-only
    assert EnergyFigure.from_dict(none).mj is None or EnergyFigure.from_dict(none).measured
