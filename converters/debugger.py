"""``--per-layer``: TF's QuantizationDebugger, reduced to the layers with the worst int8 error.

Layers are ranked by RMSE over scale: the error in units of one quantization step, which is comparable
across layers (a value near 0.29, sqrt(1/12), is the rounding floor; much larger means trouble).
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from converters._tf import quiet_tf
from converters.source import FloatModel, Source
from converters.tflite import make_converter
from edgekit.errors import EdgekitError, first_line
from edgekit.quant_modes import QuantConfig, QuantMode


def worst_layers(src: Source, fm: FloatModel, calibration: np.ndarray, top: int = 10) -> tuple[dict, ...]:
    """The ``top`` layers by RMSE/scale, each ``{"layer", "op", "rmse_over_scale", "max_abs_error", ...}``."""

    def dataset():
        for i in range(len(calibration)):
            yield [calibration[i:i + 1]]

    with quiet_tf() as tf:
        # The debugger compares float and quantized tensors inside the model, so float I/O is enough here.
        conv = make_converter(tf, src, fm, QuantConfig(QuantMode.INT8, float_io=True), dataset)
        try:
            debugger = tf.lite.experimental.QuantizationDebugger(converter=conv, debug_dataset=dataset)
            debugger.run()
        except Exception as err:  # TF raises many types
            first = first_line(err)
            raise EdgekitError(f"the quantization debugger failed on {src.describe()}: {first}") from None
        buf = io.StringIO()
        debugger.layer_statistics_dump(buf)
    return rank(buf.getvalue(), top)


def rank(csv_text: str, top: int) -> tuple[dict, ...]:
    """Parse the debugger's CSV dump and keep the ``top`` worst rows."""
    rows = []
    for row in csv.DictReader(io.StringIO(csv_text)):
        try:
            scale, mse = float(row["scale"]), float(row["mean_squared_error"])
        except (KeyError, ValueError):
            continue
        ratio = math.sqrt(mse) / scale if scale > 0 else math.inf
        rows.append({"layer": row.get("tensor_name", ""), "op": row.get("op_name", ""),
                     "rmse_over_scale": round(ratio, 4), "max_abs_error": float(row.get("max_abs_error", "nan")),
                     "mean_error": float(row.get("mean_error", "nan")), "scale": scale})
    rows.sort(key=lambda r: -r["rmse_over_scale"])
    return tuple(rows[:top])
