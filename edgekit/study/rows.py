"""A study row made (:class:`edgekit.study.study_row.StudyRow`: a cell's result with the study's own columns),
and the accuracy those columns report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from edgekit.result import Kind, Result
from edgekit.study.cells import Converted, file_digest
from edgekit.study.plan import Cell, StudyPlan
from edgekit.study.study_row import StudyRow

Say = Callable[[str], None]


def decorate(result: Result, cell: Cell, conv: Converted, accuracy: dict | None, user=None) -> StudyRow:
    """The bench record, labelled with the cell (its profile's ``ops`` left out, its energy figure as results.json
    has it), and the study's columns; the display fields are the exact numbers the report shows."""
    extra = {k: v for k, v in result.extra.items() if k != "ops"}
    energy = None if result.energy is None else result.energy.rounded()
    result = replace(result, target=cell.target, model=cell.model, quant=cell.quant, extra=extra, energy=energy)
    kind = result.kind
    columns = {}
    if kind is Kind.FIT:  # a microcontroller: the arena TFLite Micro needs (measured), not an estimate
        arena = result.fit.ram["arena_bytes"]
        columns.update(arena_mb=None if arena is None else round(arena / 2**20, 3))
    elif kind is Kind.ESTIMATED:
        stored = (conv.cost.stored_weight_bytes or 0) + conv.cost.activation_peak_bytes
        columns.update(estimated_memory_mb=round(stored / 2**20, 1),
                       estimated_memory_method=("weights as stored plus peak live activations (edgekit.analysis); "
                                                "no runtime overhead"))
    size = conv.graph.file_bytes if kind is Kind.FAILED else result.figures.size_bytes  # a failure has no figures
    if user is not None:
        columns.update(source=user.source, converted_here=user.converted_here)
    if accuracy is None and user is not None:
        pct, note = None, ("not measured: the user's own model; run with --data (a labelled folder, or digits) to "
                           "score it as given")
    elif accuracy is None:
        pct, note = None, ("not measured: random weights at the architecture's default input (costs only); run "
                           "with --data for trained small-input variants")
    else:
        pct, note = accuracy["accuracy_pct"], accuracy["note"]
    return StudyRow(result=result, variant=cell.variant, input_shape=tuple(conv.input_shape), params=conv.params,
                    params_m=round(conv.params / 1e6, 3), mmacs=round(conv.cost.macs / 1e6, 2),
                    size_mb=round(size / 1e6, 3), accuracy_pct=pct, accuracy_note=note, **columns)


def trained_accuracy(plan: StudyPlan, conv: Converted, trained: Path) -> dict:
    from edgekit.study.accuracy import evaluate

    return evaluate(conv.path, conv.digest, plan.data, trained)


def user_accuracy(plan: StudyPlan, user, conv: Converted, scored: dict, say: Say) -> dict:
    """A user's model on --data, not trained: scored as given when its output width is the data's label count
    (the float Keras model once, into ``scored``, the study's ``Collected.user_accuracy``; this row's .tflite);
    else "not measured" and why."""
    from edgekit.errors import EdgekitError
    from edgekit.study.accuracy import label_mismatch, score_user

    known = scored.get(user.name)
    if known is None:
        why = label_mismatch(user.name, conv.graph, plan.data)
        known = scored[user.name] = {"mismatch": why, "data": plan.data.describe()}
        if why is not None:
            say(f"warning: {why}: its accuracy is not measured (cost rows only)")
        elif user.converted_here:
            known.update(_float_accuracy(plan, user, say))
    if known["mismatch"] is not None:
        return {"accuracy_pct": None, "note": f"not measured: {known['mismatch']}"}
    try:
        return score_user(conv.path, conv.digest, plan.data)
    except EdgekitError as err:
        say(f"warning: {user.name} {conv.path.name}: accuracy not measured: {err}")
        return {"accuracy_pct": None, "note": f"not measured: {err}"}


def _float_accuracy(plan: StudyPlan, user, say: Say) -> dict:
    """The user's Keras model itself, in float, fed as its conversion is (its preprocess option, else its own
    first layer's)."""
    from edgekit.app.eval_preprocess import user_preprocess
    from edgekit.errors import EdgekitError
    from edgekit.study.accuracy import score_user

    path = Path(user.path)
    try:
        found = score_user(path, file_digest(path) if path.is_file() else None, plan.data,
                           user_preprocess(user.preprocess), what="the Keras model in float")
    except EdgekitError as err:
        say(f"warning: {user.name}: float (Keras) accuracy not measured: {err}")
        return {"float_accuracy_pct": None, "float_note": f"not measured: {err}"}
    return {"float_accuracy_pct": found["accuracy_pct"], "images": found["images"], "float_note": found["note"]}
