"""The study's forecast (issue 22): idle rates, refined by the conversions already in the cache, stretched by how
busy the machine is; cached conversions and stored measurements cost nothing."""

from __future__ import annotations

import json

import pytest

from edgekit.study import forecast as p
from edgekit.study.plan import FULL, QUICK


def _sidecar(root, key: str, model: str, quant: str, seconds: float, samples: int) -> None:
    entry = root / "convert" / key
    entry.mkdir(parents=True)
    side = {"source": {"build_args": {"name": model, "input_shape": [224, 224, 3]}},
            "quantization": {"mode": quant}, "conversion_wall_seconds": seconds, "calibration": {"samples": samples}}
    (entry / "meta.json").write_text(json.dumps({"sidecar": side}))


def test_conversion_rates_come_from_the_cache_when_there(monkeypatch, tmp_path):
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path))
    s = QUICK
    assert p.learned_convert_scale(s) == (1.0, 0)  # a first run: the constants
    idle = p.eta_convert("vgg16", "int8", s)
    assert idle == 75.0  # measured here, whole: 8 calibration samples (in stages, converters.stages)
    assert p.eta_convert("vgg16", "int8", FULL) == pytest.approx(75.0 + p.CALIBRATE_S_PER_GMAC * 12 * 15.5)
    _sidecar(tmp_path, "a", "vgg16", "int8", 2 * idle, s.samples)  # this machine converted it twice as slowly
    _sidecar(tmp_path, "b", "resnet50", "fp32", 2 * p.eta_convert("resnet50", "fp32", s), 0)
    scale, n = p.learned_convert_scale(s)
    assert n == 2 and scale == pytest.approx(2.0)
    assert p.eta_convert("vgg16", "int8", s, scale) == pytest.approx(2 * idle)
    assert p.eta_convert("alexnet", "fp16", s) == pytest.approx(p.CONVERT_START_S + 61.0 * 4 * 0.06)


def test_measuring_follows_the_protocol_rounds():
    one_round = p.eta_measure("vgg16", QUICK, "fp32") / QUICK.rounds
    assert p.eta_measure("vgg16", FULL, "fp32") > FULL.rounds * one_round  # more runs per round too
    assert p.eta_measure("vgg16", QUICK, "int8") < p.eta_measure("vgg16", QUICK, "fp32")


def test_busy_factor_is_a_bounded_ratio():
    assert 1.0 <= p.busy_factor(0.05) <= 10.0
