"""A measurement on this machine (its CPU or GPU) finished: the rounds' record (``bench.result.build_result``),
with the energy estimate in place of a sensor that could not be read (``targets.energy_host``).

``edgekit bench`` (``edgekit.app.bench``) and the study (``edgekit.study``) both finish their local results here.
"""

from __future__ import annotations

from bench.protocol import REL_HALFWIDTH
from bench.result import build_result
from bench.runner import Config
from edgekit.analysis.tflite_graph import TFLiteGraph
from edgekit.result import Result
from targets.energy_host import with_host_fallback


def finish_local(cfg: Config, rounds: list[dict], graph: TFLiteGraph, macs: int, *, round_ids: list[int],
                 rel_halfwidth: float = REL_HALFWIDTH) -> Result:
    """The result of ``cfg`` from its round documents, priced from published power where no sensor was read."""
    return with_host_fallback(build_result(cfg, rounds, graph, macs, round_ids=round_ids,
                                           rel_halfwidth=rel_halfwidth))
