"""MACs and params of int8 MobileNets, converted here, against the published table.

Figures: the TensorFlow models repository's tables of the hosted quantized MobileNets
(research/slim/nets/mobilenet_v1.md: MobileNet_v1_0.25_128 14 million MACs, 0.47 million params;
MobileNet_v1_0.5_160 77 M, 1.32 M. research/slim/nets/mobilenet/README.md: mobilenet_v2_1.0_224 300 M,
3.47 M). The table rounds MACs to a million (14 M is 13.5 to 14.5 M), hence the 4% tolerance.
"""

from __future__ import annotations

import pytest

from tests.conftest import run_cli

pytestmark = [pytest.mark.tf, pytest.mark.slow, pytest.mark.heavy, pytest.mark.usefixtures("tf")]  # CI's heavy tier


@pytest.mark.parametrize(("args", "macs_m", "params_m"), [
    (["mobilenet", "--alpha", "0.25", "--input-size", "128"], 14, 0.47),
    (["mobilenet", "--alpha", "0.5", "--input-size", "160"], 77, 1.32),
    (["mobilenetv2", "--alpha", "1.0", "--input-size", "224"], 300, 3.47),
], ids=["v1_0.25_128", "v1_0.5_160", "v2_1.0_224"])
def test_int8_mobilenet_matches_the_published_table(tmp_path, args, macs_m, params_m):
    out = tmp_path / "m.tflite"
    env = {"EDGEKIT_CACHE_DIR": str(tmp_path / "cache"), "EDGEKIT_TF_LOG": str(tmp_path / "tf.log")}
    run = run_cli("convert", *args, "--int8", "--calibration", "synthetic", "--samples", "2", "-o", str(out),
                  env=env)
    assert run.code == 0, run.err
    info = run_cli("info", str(out), "--json", env=env).json()
    assert info["not_counted"] == []
    assert info["macs"] == pytest.approx(macs_m * 1e6, rel=0.04)
    assert info["params"] == pytest.approx(params_m * 1e6, rel=0.04)
