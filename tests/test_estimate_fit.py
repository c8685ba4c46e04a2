"""The estimators against the published figures they were fitted on, and their physics (no TensorFlow)."""

from __future__ import annotations

import pytest

from targets import estimate_cpu, estimate_edgetpu
from targets import fit as calibration
from targets.hostcpu import cpu_figures
from targets.opcost import OpCost, OpKind
from targets.registry import EDGE_TPU_USB, RPI4_CPU, RPI5_CPU

# docs/estimates.md states this tolerance: every calibration row within 15% of its published figure.
TOLERANCE = 0.15


@pytest.fixture(scope="module")
def models():
    return calibration.load_models()


@pytest.mark.parametrize("row", calibration.ROWS, ids=lambda r: f"{r.model}-{r.setup}")
def test_calibration_row_within_tolerance(row, models):
    est = calibration.predict_ms(row, models)
    ref = min(max(est, row.low_ms), row.high_ms)
    assert abs(est / ref - 1) <= TOLERANCE, f"{row}: estimate {est:.2f} ms"


def test_fit_reproduces_the_stored_parameters(models):
    """The constants in the code are the fit's result (refit: python -m targets.fit --fit)."""
    fitted = calibration.fit_parameters()
    now = sum(abs(e) for _, _, e in calibration.errors())
    refit = sum(abs(e) for _, _, e in calibration.errors(fitted))
    assert now <= refit + 0.05


def _conv(macs: int, dtype: str = "fp32", weights: int = 0) -> OpCost:
    return OpCost("CONV_2D", OpKind.CONV, dtype, macs, 0, 1000, weights)


def test_cpu_terms_follow_the_hardware():
    op = _conv(10**9)
    one = estimate_cpu.op_time(op, RPI4_CPU, 1).total_s
    four = estimate_cpu.op_time(op, RPI4_CPU, 4).total_s
    assert 2.5 < one / four < 4  # threads help, less than linearly
    assert estimate_cpu.op_time(op, RPI4_CPU, 8).total_s == four  # no more than the cores
    assert estimate_cpu.op_time(_conv(10**9, "int8"), RPI4_CPU, 4).total_s < four  # int8 runs faster
    assert estimate_cpu.op_time(op, RPI5_CPU, 4).total_s < four / 2  # A76: 2x flops/cycle and a faster clock
    heavy = estimate_cpu.op_time(_conv(1000, weights=55_000_000), RPI4_CPU, 4)
    assert heavy.memory_s == pytest.approx(0.01)  # 55 MB at 5.5 GB/s


def test_edgetpu_streams_what_the_cache_cannot_hold():
    small = (_conv(10**8, "int8", 4 << 20),)
    big = (_conv(10**8, "int8", 100 << 20),)
    t_small = estimate_edgetpu.estimate_split(small, 1, 1000, 150_528, EDGE_TPU_USB, RPI4_CPU, 4, 0.0)
    t_big = estimate_edgetpu.estimate_split(big, 1, 1000, 150_528, EDGE_TPU_USB, RPI4_CPU, 4, 0.0)
    assert t_small.stream_s == 0 and t_big.stream_s > 0.15  # 92 MiB over a 0.5 GB/s link
    on_cpu = estimate_edgetpu.estimate_split(small, 0, 1000, 150_528, EDGE_TPU_USB, RPI4_CPU, 4, 0.0)
    assert on_cpu.tpu_compute_s == 0 and on_cpu.cpu_s > 10 * t_small.tpu_compute_s  # after the split: the CPU


CPUINFO = """processor\t: 0
model name\t: Test CPU
cpu MHz\t\t: 3000.000
cache size\t: 32768 KB
flags\t\t: fpu sse2 avx avx2 fma
"""


def test_host_cpu_from_cpuinfo():
    c = cpu_figures(CPUINFO, cores=4)
    assert (c.cores, c.ghz, c.fp32_flops_per_cycle_per_core, c.int8_ops_per_cycle_per_core) == (4, 3.0, 32.0, 64.0)
    vnni = cpu_figures(CPUINFO.replace("fma", "fma avx512f avx512_vnni"), cores=2)
    assert vnni.fp32_flops_per_cycle_per_core == 64.0 and vnni.int8_ops_per_cycle_per_core == 256.0
    assert vnni.cache_bytes == 8 << 20  # capped at 4 MiB per core
    arm = cpu_figures("Features\t: fp asimd asimddp\n", cores=4)
    assert arm.fp32_flops_per_cycle_per_core == 16.0 and arm.ghz == 2.0
