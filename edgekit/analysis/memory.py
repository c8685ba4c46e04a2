"""Peak activation memory by tensor liveness (see ``report.ACTIVATION_METHOD``)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence


def peak_live_bytes(ops: Sequence[tuple[Sequence[Hashable], Sequence[Hashable], int]],
                    sizes: dict[Hashable, int], inputs: Sequence[Hashable], outputs: Sequence[Hashable]) -> int:
    """Largest sum of live tensor bytes while any op runs.

    Args:
        ops: in execution order, ``(input tensor ids, output tensor ids, extra scratch bytes)``.
        sizes: bytes of every activation tensor; ids missing here (constants) cost nothing.
        inputs: graph inputs, live from the start.
        outputs: graph outputs, live to the end.
    """
    last_use: dict[Hashable, int] = {}
    for i, (ins, _, _) in enumerate(ops):
        for t in ins:
            last_use[t] = i
    for t in outputs:
        last_use[t] = len(ops)
    live = {t for t in inputs if t in sizes}
    peak = sum(sizes[t] for t in live)
    for i, (_, outs, extra) in enumerate(ops):
        live.update(t for t in outs if t in sizes)
        peak = max(peak, sum(sizes[t] for t in live) + extra)
        live = {t for t in live if last_use.get(t, -1) > i}
    return peak
