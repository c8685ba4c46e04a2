"""``edgekit study``'s collection: convert each model once per quant, then measure or estimate it on every
target, reusing the converter cache and the results database so that a re-run measures only what is missing.

Each result is in the database as soon as it is final (``bench.service.measure``), so Ctrl-C loses only the
rounds of the configurations still being measured. A configuration that cannot be measured or estimated gets a
row with its error, and the rest of the study goes on.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from edgekit.result import Result
from edgekit.study.cells import Converted, file_digest, study_key, tflite_path, threads_for, trained_path
from edgekit.study.measure_cells import cell_config, measure_target
from edgekit.study.plan import Cell, StudyPlan
from edgekit.study.rows import decorate, trained_accuracy, user_accuracy
from edgekit.study.study_row import StudyRow
from targets.registry import Method

__all__ = ["Collected", "Converted", "collect", "file_digest", "study_key", "tflite_path", "threads_for"]

Say = Callable[[str], None]


@dataclass
class Collected:
    rows: list[StudyRow] = field(default_factory=list)
    new_measurements: int = 0
    reused_measurements: int = 0
    estimates: int = 0
    failures: int = 0  # configs that could not be measured or estimated: a row with their error
    conversions: dict = field(default_factory=dict)  # (variant, model, quant) -> Converted
    accuracy: dict = field(default_factory=dict)  # model -> training summary (with --data)
    user_accuracy: dict = field(default_factory=dict)  # user model -> how its accuracy was measured (--data)
    recovery: object | None = None  # bench.recovery.Recovery: the results the database could not take
    cluster: dict | None = None  # with --cluster: each conversion's node, start, end and memory estimate


def collect(plan: StudyPlan, store, advance: Callable[[Cell, str], None], say: Say,
            heavy: Callable[[str], contextlib.AbstractContextManager] | None = None, measurer=None) -> Collected:
    """Every cell of the grid; ``advance(cell, what)`` after each (``what``: measured, reused, ...).

    First every conversion (and training), with estimates and reused measurements as they come; then, per
    target, the cells still to measure, in interleaved rounds (``bench.protocol``). Rows keep the grid's order.
    ``heavy(description)`` wraps each cold conversion and training (e.g. to pause a progress display while
    TensorFlow's output goes to a log). A result the database cannot take goes to ``Collected.recovery``'s file,
    and the study goes on. ``measurer``: what measures one target's cells in place of
    ``edgekit.study.measure_cells.measure_target``, with its arguments (``edgekit.study.cluster``'s lab)."""
    from bench.recovery import Recovery

    run_id = uuid.uuid4().hex[:12]
    out = Collected(recovery=Recovery(store.path))  # a database that fails mid-study loses no result
    by_model: dict[tuple[str, str], list[Cell]] = {}
    for cell in plan.cells():
        by_model.setdefault((cell.variant, cell.model), []).append(cell)
    rows: dict[Cell, StudyRow] = {}
    pending: dict[str, list[tuple[Cell, Converted, dict | None]]] = {}
    for (variant, model), cells in by_model.items():
        trained = None
        if variant == "trained":
            with _wrap(heavy, f"training {model} on {plan.data.describe()}", trained_path(plan, model)):
                trained = _train(plan, model, say, out)
        user = plan.user_model(model)
        for quant in plan.quants_of(model):  # a .tflite file: its own quant, which --quant may not name
            doing = f"converting {model} {quant}"  # a zoo model's is quiet only past the cache (and its warnings)
            with _wrap(heavy if trained else None, doing, tflite_path(plan, variant, model, quant)):
                conv = _convert(plan, variant, model, quant, trained, say, heavy and (lambda d=doing: heavy(d)))
            out.conversions[(variant, model, quant)] = conv
            accuracy = trained_accuracy(plan, conv, trained) if trained is not None else None
            if user is not None and plan.data is not None:
                accuracy = user_accuracy(plan, user, conv, out.user_accuracy, say)
            for cell in (c for c in cells if c.quant == quant):
                row, what = _ready_row(plan, cell, conv, store, out.recovery)
                if row is None:
                    pending.setdefault(cell.target, []).append((cell, conv, accuracy))
                    continue
                out.reused_measurements += what == "reused"
                out.estimates += what == "estimated"
                out.failures += what == "failed"
                rows[cell] = decorate(row, cell, conv, accuracy, plan.user_model(cell.model))
                advance(cell, what)
    for target, todo in pending.items():

        def keep(i: int, result: Result, todo=todo) -> None:  # as soon as a result is final: stored, then shown
            cell, conv, accuracy = todo[i]
            failed = result.failed
            if not failed:  # a failure is stored without its key, so that a re-run tries it again
                result = result.with_keys(study_key=study_key(conv.digest, cell.target, threads_for(plan, cell.target),
                                                              plan))
            result = out.recovery.stored(store, run_id, result)
            out.new_measurements += not failed
            out.failures += failed
            rows[cell] = decorate(result, cell, conv, accuracy, plan.user_model(cell.model))
            advance(cell, "failed" if failed else "measured")

        (measurer or measure_target)(plan, target, todo, say, keep)
    out.rows = [rows[c] for c in plan.cells()]
    return out


def _wrap(heavy, what: str, product: Path):
    """``heavy(what)`` when ``product`` is not there yet (a cold conversion or training), else nothing."""
    return heavy(what) if heavy is not None and not product.is_file() else contextlib.nullcontext()


def _train(plan: StudyPlan, model: str, say: Say, out: Collected) -> Path:
    from edgekit.study.accuracy import small_input, train_small

    path = trained_path(plan, model)
    doc = train_small(model, plan.data, path, small_input(model), plan.settings.epochs, say)
    out.accuracy[model] = doc
    return path


def _convert(plan: StudyPlan, variant: str, model: str, quant: str, trained: Path | None, say: Say,
             quiet=None) -> Converted:
    from converters.isolated import convert_in_child
    from edgekit.analysis import analyze_graph, read_tflite

    out = tflite_path(plan, variant, model, quant)
    user = plan.user_model(model)
    if user is not None and not user.converted_here:  # measured as it is
        graph = read_tflite(out)
        cost = analyze_graph(graph, model)
        return Converted(out, cost.params, cost.input_shape, cost, graph, file_digest(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    if user is not None:  # the user's Keras model, in a child process as a zoo model is
        options = {k: v for k, v in (("preprocess", user.preprocess), ("calibration", user.calibration)) if v}
        result = convert_in_child(user.path, quant, samples=plan.settings.samples, output=out, force=True,
                                  memory_check=False, quiet=quiet, **options)
    elif trained is None:  # in a child process, whose memory goes back to the OS; the memory guard ran in the plan
        result = convert_in_child(model, quant, samples=plan.settings.samples, output=out, force=True,
                                  memory_check=False, quiet=quiet)
    else:
        from edgekit.study.accuracy import convert_trained

        result = convert_trained(trained, quant, plan.data, plan.settings.samples, out)
    graph = read_tflite(out)
    cost = analyze_graph(graph, model)
    if not result.cached:
        say(f"converted {model} {quant}{' (trained)' if trained else ''} in {result.seconds:.0f} s")
    if result.fidelity is not None and result.fidelity.flat:
        say(f"warning: {model} {quant}: the fidelity check cannot inform: {result.fidelity.flat}")
    return Converted(out, int(result.metadata.get("params") or cost.params), cost.input_shape, cost, graph,
                     file_digest(out))


def _ready_row(plan: StudyPlan, cell: Cell, conv: Converted, store, recovery) -> tuple[Result | None, str]:
    """An estimate, or a measurement already in the database; (None, "") when it is still to measure."""
    threads = threads_for(plan, cell.target)
    method = plan.method(cell.target)
    if method in (Method.MCU, Method.ESTIMATE):
        from bench.result import failure_result
        from edgekit.errors import UsageError
        from edgekit.runtime.tflm import TflmMissingError
        from targets.estimate import estimate_bench
        from targets.mcu_bench import bench_mcu

        target = plan.target(cell.target)
        try:
            if method is Method.MCU:  # run in TFLite Micro here: arena measured, latency estimated
                return bench_mcu(conv.path, target, model=cell.model), "estimated"
            return estimate_bench(conv.path, target, threads, model=cell.model, quant=cell.quant), "estimated"
        except (UsageError, TflmMissingError):
            raise  # a target with no estimator, or no TFLite Micro here: every model would fail alike
        except Exception as err:  # this model cannot be estimated on this target; it fails alone
            failed = failure_result(cell_config(plan, cell, conv), err)
            return replace(failed, xnnpack=None), "failed"  # an estimate has no runtime
    found = _stored(store, recovery, study_key(conv.digest, cell.target, threads, plan))
    if found is None:
        return None, ""
    from targets.energy_host import with_host_fallback

    return with_host_fallback(found), "reused"  # stored when its sensor could not be read: estimated as now


def _stored(store, recovery, key: str) -> Result | None:
    """The measurement of ``key`` in the database, or None: none there, or the database cannot be read (a corrupt
    page), when it is measured again and kept in ``recovery``'s file with every later result."""
    from edgekit.errors import EdgekitError

    if recovery.cause is not None:
        return None
    try:
        return store.find("study_key", key)
    except EdgekitError as err:
        recovery.note(err)
        return None
