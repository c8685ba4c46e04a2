"""What a bench run ends with says what the user needs (issue 32): too few rounds is not "noisy", and no
message reads "None"."""

from __future__ import annotations


def _result(**kw) -> dict:
    r = {"model": "tiny_fp32", "quant": "fp32", "threads": 1, "target": "cpu", "noisy": True, "rounds": 6,
         "latency_ms": {"p50": 0.0257, "ci95": [0.0200, 0.0300]}, "warnings": []}
    return {**r, **kw}


def test_too_few_rounds_is_its_own_message():
    from edgekit.app.bench import noisy_warnings

    [line] = noisy_warnings([_result(rounds=2, latency_ms={"p50": 0.0257, "ci95": [0.0257, 0.0257]})])
    assert line.startswith("too few rounds for an interval") and "tiny_fp32 fp32 1 thread had 2" in line
    assert "noisy" not in line and "--rounds 6" in line
    [line] = noisy_warnings([_result()])
    assert line.startswith("noisy: the 95% interval stayed wider than ±5%") and "over 6 rounds" in line


def test_no_none_in_a_gpu_warning():
    from edgekit.app.bench import noisy_warnings

    [line] = noisy_warnings([_result(threads=None, target="gpu")])
    assert "None" not in line and "tiny_fp32 fp32 on the GPU" in line
