"""bench.carry: a float .tflite packed small (float weights zeroed, gzipped) and refilled with random weights
runs the same graph; integer constants keep their bytes. The fast tier: no TensorFlow."""

from __future__ import annotations

import numpy as np

from bench.carry import _float_constants, main, pack, unpack
from edgekit.analysis.tflite_graph import read_tflite
from edgekit.runtime import load
from tests.conftest import DATA


def _constants(path) -> list[np.ndarray]:
    return [view.copy() for view, _ in _float_constants(bytearray(path.read_bytes()))]


def test_pack_zeroes_float_weights_and_unpack_refills_them(tmp_path):
    src, packed, out = DATA / "tiny_fp32.tflite", tmp_path / "m.tflite.gz", tmp_path / "m.tflite"
    assert pack(src, packed) == packed.stat().st_size < src.stat().st_size
    drawn = unpack(packed, out, seed=1)
    before, after = _constants(src), _constants(out)
    assert drawn == sum(c.size for c in before) > 0 and len(after) == len(before)
    assert all(np.isfinite(a).all() and np.count_nonzero(a) == a.size for a in after)
    assert not any(np.array_equal(a, b) for a, b in zip(after, before, strict=True))
    assert out.stat().st_size == src.stat().st_size
    g_src, g_out = read_tflite(src), read_tflite(out)
    assert [(o.opcode, o.inputs, o.outputs) for o in g_src.ops] == [(o.opcode, o.inputs, o.outputs) for o in g_out.ops]
    y = load(str(out)).predict_raw(np.zeros((1, *g_out.tensors[g_out.inputs[0]].shape[1:]), np.float32))
    assert np.isfinite(np.asarray(y[0] if isinstance(y, list) else y)).all()


def test_integer_constants_keep_their_bytes(tmp_path):
    """An int8 model has no float constants to draw; its bytes come back as they were."""
    src = DATA / "tiny_int8.tflite"
    pack(src, tmp_path / "q.gz")
    assert unpack(tmp_path / "q.gz", tmp_path / "q.tflite") == 0
    assert (tmp_path / "q.tflite").read_bytes() == src.read_bytes()


def test_command_line(tmp_path, capsys):
    assert main(["pack", str(DATA / "tiny_fp32.tflite"), str(tmp_path / "a.gz")]) == 0
    assert main(["unpack", str(tmp_path / "a.gz"), str(tmp_path / "a.tflite")]) == 0
    assert "floats drawn" in capsys.readouterr().out
    assert main(["bogus"]) == 2
