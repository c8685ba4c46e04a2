"""``edgekit study``'s collection: convert each model once per quant, then measure or estimate it on every
target, reusing the converter cache and the results database so that a re-run measures only what is missing.

Each result is in the database as soon as it is final (``bench.service.measure``), so Ctrl-C loses only the
rounds of the configurations still being measured. A configuration that cannot be measured or estimated gets a
row with its error, and the rest of the study goes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from edgekit.result import Kind, Result
from edgekit.study.plan import Cell, StudyPlan, eta_convert, eta_measure, eta_train, models_dir
from targets.registry import Method

Say = Callable[[str], None]


@dataclass
class Converted:
    """One model x quant x variant as a file, with what the converter and the analysis know of it."""

    path: Path
    params: int
    input_shape: tuple[int, ...]
    cost: object  # edgekit.analysis.CostReport of the .tflite
    graph: object
    digest: str


@dataclass
class Collected:
    rows: list[dict] = field(default_factory=list)
    new_measurements: int = 0
    reused_measurements: int = 0
    estimates: int = 0
    failures: int = 0  # configs that could not be measured or estimated: a row with their error
    conversions: dict = field(default_factory=dict)  # (variant, model, quant) -> Converted
    accuracy: dict = field(default_factory=dict)  # model -> training summary (with --data)
    user_accuracy: dict = field(default_factory=dict)  # user model -> how its accuracy was measured (--data)
    recovery: object | None = None  # bench.store.Recovery: the results the database could not take
    cluster: dict | None = None  # with --cluster: each conversion's node, start, end and memory estimate


def file_digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def tflite_path(plan: StudyPlan, variant: str, model: str, quant: str) -> Path:
    tag = "_quick" if plan.quick else ""
    user = plan.user_model(model)
    if user is not None:  # a .tflite file as it is; a Keras model's conversions, one per source and options
        if not user.converted_here:
            return Path(user.path)
        key = "|".join(str(x) for x in (Path(user.path).resolve(), user.preprocess, user.calibration))
        return models_dir() / "user" / f"{model}_{hashlib.sha256(key.encode()).hexdigest()[:8]}_{quant}{tag}.tflite"
    if variant == "zoo":
        return models_dir() / f"{model}_{quant}{tag}.tflite"
    return models_dir() / "trained" / f"{model}_{_data_tag(plan)}{tag}_{quant}.tflite"


def _data_tag(plan: StudyPlan) -> str:
    if plan.data.kind == "digits":
        return "digits"
    return "data-" + hashlib.sha256(str(Path(plan.data.path).resolve()).encode()).hexdigest()[:8]


def study_key(digest: str, target: str, threads: int | None, plan: StudyPlan) -> str:
    """What makes two measurements the same: the file's content, where and how it ran."""
    s = plan.settings
    where = plan.hosts.get(target) or plan.serials.get(target, "")
    parts = [digest, target, str(threads), where, str(s.runs), str(s.min_seconds),
             str(s.warmup), f"rounds={s.rounds}", f"budget={s.budget:g}", f"warmup_s={s.warmup_seconds:g}"]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


LOCAL_CPU_THREADS = 1


def threads_for(plan: StudyPlan, target: str) -> int | None:
    """None on the GPU; else --threads; else 1 on this machine's CPU, every core of a board and one thread per
    big core of a phone (``targets.estimate_cpu.default_threads``, as its estimate; 4 for ``android``).

    This machine is measured at ``LOCAL_CPU_THREADS`` (1), the default of ``edgekit bench`` and of TFLite's
    ``benchmark_model`` (``--num_threads``), so the study's cpu rows are what ``edgekit bench`` gives. It also
    leaves the study's own process and the OS a core: measured with every core, each op waits for its slowest
    thread, and whatever else runs lands on one of them (on a 2-core machine, docs/measuring.md)."""
    from targets.registry import get_target

    method = plan.method(target)
    if method is Method.GPU:
        return None
    if plan.threads is not None:
        return plan.threads
    if method is Method.LOCAL:
        return LOCAL_CPU_THREADS
    from targets.estimate_cpu import default_threads

    cpu = get_target(target).cpu
    if cpu is None and method is Method.ADB:
        from edgekit.study.phones import PHONE_THREADS

        return PHONE_THREADS
    return default_threads(cpu) if cpu else None


def expected_seconds(plan: StudyPlan, store) -> tuple[float, dict]:
    """Predicted wall time, and what is already done (files converted, measurements in the database)."""
    from edgekit.study.plan import STUDY_FIXED_S, learned_convert_scale

    s = plan.settings
    scale, _ = learned_convert_scale(s)
    total, done = STUDY_FIXED_S, {"conversions": 0, "measurements": 0}
    digests: dict[Path, str | None] = {}
    for cell in plan.cells():
        path = tflite_path(plan, cell.variant, cell.model, cell.quant)
        if path not in digests:
            digests[path] = file_digest(path) if path.is_file() else None
            if digests[path] is None:
                total += eta_convert(cell.model, cell.quant, s, scale) * (0.3 if cell.variant == "trained" else 1)
            else:
                done["conversions"] += 1
        if not plan.measured_here(cell.target):
            continue
        key = digests[path] and study_key(digests[path], cell.target, threads_for(plan, cell.target), plan)
        if key and store.find("study_key", key) is not None:
            done["measurements"] += 1
        else:
            total += eta_measure(cell.model, s, cell.quant) * (0.1 if cell.variant == "trained" else 1)
    if plan.data is not None:
        for m in plan.models:
            if not _trained_path(plan, m).is_file():
                total += eta_train(m, s)
    return total, done


def collect(plan: StudyPlan, store, advance: Callable[[Cell, str], None], say: Say,
            heavy: Callable[[str], contextlib.AbstractContextManager] | None = None, measure=None) -> Collected:
    """Every cell of the grid; ``advance(cell, what)`` after each (``what``: measured, reused, ...).

    First every conversion (and training), with estimates and reused measurements as they come; then, per
    target, the cells still to measure, in interleaved rounds (``bench.protocol``). Rows keep the grid's order.
    ``heavy(description)`` wraps each cold conversion and training (e.g. to pause a progress display while
    TensorFlow's output goes to a log). A result the database cannot take goes to ``Collected.recovery``'s file,
    and the study goes on. ``measure``: what measures one target's cells in place of :func:`_measure_target`,
    with its arguments (``edgekit.study.cluster``'s lab)."""
    from bench.recovery import Recovery

    run_id = uuid.uuid4().hex[:12]
    out = Collected(recovery=Recovery(store.path))  # a database that fails mid-study loses no result
    by_model: dict[tuple[str, str], list[Cell]] = {}
    for cell in plan.cells():
        by_model.setdefault((cell.variant, cell.model), []).append(cell)
    rows: dict[Cell, dict] = {}
    pending: dict[str, list[tuple[Cell, Converted, dict | None]]] = {}
    for (variant, model), cells in by_model.items():
        trained = None
        if variant == "trained":
            with _wrap(heavy, f"training {model} on {plan.data.describe()}", _trained_path(plan, model)):
                trained = _train(plan, model, say, out)
        user = plan.user_model(model)
        for quant in plan.quants_of(model):  # a .tflite file: its own quant, which --quant may not name
            doing = f"converting {model} {quant}"  # a zoo model's is quiet only past the cache (and its warnings)
            with _wrap(heavy if trained else None, doing, tflite_path(plan, variant, model, quant)):
                conv = _convert(plan, variant, model, quant, trained, say, heavy and (lambda d=doing: heavy(d)))
            out.conversions[(variant, model, quant)] = conv
            accuracy = _accuracy(plan, conv, trained) if trained is not None else None
            if user is not None and plan.data is not None:
                accuracy = _user_accuracy(plan, user, conv, out, say)
            for cell in (c for c in cells if c.quant == quant):
                row, what = _ready_row(plan, cell, conv, store, out.recovery)
                if row is None:
                    pending.setdefault(cell.target, []).append((cell, conv, accuracy))
                    continue
                out.reused_measurements += what == "reused"
                out.estimates += what == "estimated"
                out.failures += what == "failed"
                rows[cell] = _decorate(row, cell, conv, accuracy, plan.user_model(cell.model))
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
            rows[cell] = _decorate(result, cell, conv, accuracy, plan.user_model(cell.model))
            advance(cell, "failed" if failed else "measured")

        (measure or _measure_target)(plan, target, todo, say, keep)
    out.rows = [rows[c] for c in plan.cells()]
    return out


def _wrap(heavy, what: str, product: Path):
    """``heavy(what)`` when ``product`` is not there yet (a cold conversion or training), else nothing."""
    return heavy(what) if heavy is not None and not product.is_file() else contextlib.nullcontext()


def _trained_path(plan: StudyPlan, model: str) -> Path:
    tag = "_quick" if plan.quick else ""
    return models_dir() / "trained" / f"{model}_{_data_tag(plan)}{tag}.keras"


def _train(plan: StudyPlan, model: str, say: Say, out: Collected) -> Path:
    from edgekit.study.accuracy import small_input, train_small

    path = _trained_path(plan, model)
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

        try:
            if method is Method.MCU:  # run in TFLite Micro here: arena measured, latency estimated
                return bench_mcu(conv.path, cell.target, model=cell.model), "estimated"
            return estimate_bench(conv.path, cell.target, threads, model=cell.model, quant=cell.quant), "estimated"
        except (UsageError, TflmMissingError):
            raise  # a target with no estimator, or no TFLite Micro here: every model would fail alike
        except Exception as err:  # this model cannot be estimated on this target; it fails alone
            failed = failure_result(_config(plan, cell, conv), err)
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
        found = store.find("study_key", key)
    except EdgekitError as err:
        recovery.note(err)
        return None
    return Result.from_dict(found) if found is not None else None  # the database's document


def _config(plan: StudyPlan, cell: Cell, conv: Converted):
    from bench.runner import Config

    s = plan.settings
    return Config(path=str(conv.path), model=cell.model, quant=cell.quant, target=cell.target,
                  threads=threads_for(plan, cell.target), xnnpack=True, runs=s.runs, min_seconds=s.min_seconds,
                  warmup=s.warmup, warmup_seconds=s.warmup_seconds)


def _measure_target(plan: StudyPlan, target: str, todo: list, say: Say, keep: Callable[[int, Result], None]) -> None:
    """The cells of one target in interleaved rounds (``bench.service.measure``): here each round in a fresh
    process, on a device through its ssh runner. ``keep(i, result)`` as soon as each is final; a cell that
    fails gets its failure result and the others go on."""
    from bench.gpu import NoGpuError
    from bench.provenance import device
    from bench.result import cut_short, failure_result
    from bench.service import Plan, Policy, measure
    from targets.local_result import finish_local

    configs = [_config(plan, cell, conv) for cell, conv, _ in todo]
    protocol = plan.settings.protocol()
    if target in plan.hosts:
        _measure_remote(configs, target, plan.hosts[target], [conv for _, conv, _ in todo], protocol, keep)
        return
    if target in plan.serials:
        from edgekit.study.phones import measure_phone_cells

        say(f"measuring {len(configs)} configuration(s) on {target} over adb ({plan.serials[target]})")
        measure_phone_cells(plan, target, configs, [conv for _, conv, _ in todo], protocol, keep)
        return
    say(f"measuring {len(configs)} configuration(s) on {target}: {protocol.min_rounds} interleaved rounds each, "
        f"more for noisy ones within {protocol.budget_s:g} s")
    convs = [conv for _, conv, _ in todo]
    def finish(i: int, docs: list[dict], ids: list[int]) -> Result:
        return finish_local(configs[i], docs, convs[i].graph, convs[i].cost.macs, round_ids=ids)

    jobs = Plan(finish=finish, fail=lambda i, err: failure_result(configs[i], err, device=device()),
                cut=lambda i, docs: cut_short(finish(i, docs, list(range(len(docs)))), protocol.min_rounds))
    measure(configs, jobs, protocol=protocol, store=keep, policy=Policy(fatal=(NoGpuError,)))  # no GPU: all alike


def _measure_remote(configs: list, target: str, host: str, convs: list[Converted], protocol,
                    keep: Callable[[int, Result], None]) -> None:
    """The cells of one device target over ssh, through ``edgekit bench --host``'s path (``targets.remote``: its
    session is the runner of ``bench.service.measure``, each cell's rounds back to back). A device that cannot
    be reached, is not the target, or stops answering fails the cells it had not finished."""
    from bench.result import failure_result
    from targets.identity import check
    from targets.registry import get_target
    from targets.remote import measure_host
    from targets.remote_result import remote_config, to_result
    from targets.ssh import SshOptions, parse_host

    named = get_target(target)
    by_remote = {remote_config(c, named.delegate): i for i, c in enumerate(configs)}

    def one(rcfg, rounds) -> None:
        i = by_remote[rcfg]
        keep(i, to_result(configs[i], rounds, convs[i].graph, convs[i].cost.macs, host))

    outcome = measure_host(parse_host(host), list(by_remote), SshOptions.from_env(), protocol=protocol,
                           on_result=one, identify=lambda facts: check(named, facts, host))  # never an emulator
    if outcome.error is not None:
        done = {by_remote[rcfg] for rcfg, _ in outcome.measured}
        for i, cfg in enumerate(configs):
            if i not in done:
                keep(i, failure_result(cfg, outcome.error))


def _accuracy(plan: StudyPlan, conv: Converted, trained: Path) -> dict:
    from edgekit.study.accuracy import evaluate

    return evaluate(conv.path, conv.digest, plan.data, trained)


def _user_accuracy(plan: StudyPlan, user, conv: Converted, out: Collected, say: Say) -> dict:
    """A user's model on --data, not trained: scored as given when its output width is the data's label count
    (the float Keras model once, into ``out.user_accuracy``; this row's .tflite); else "not measured" and why."""
    from edgekit.errors import EdgekitError
    from edgekit.study.accuracy import label_mismatch, score_user

    known = out.user_accuracy.get(user.name)
    if known is None:
        why = label_mismatch(user.name, conv.graph, plan.data)
        known = out.user_accuracy[user.name] = {"mismatch": why, "data": plan.data.describe()}
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


def _decorate(result: Result, cell: Cell, conv: Converted, accuracy: dict | None, user=None) -> dict:
    """The bench record's document plus the study's columns (the study's row, as its JSON, CSV and report have
    it); the display fields are the exact numbers the report shows."""
    row = result.to_dict()
    row.pop("ops", None)
    kind = result.kind
    if kind is Kind.FIT:  # a microcontroller: the arena TFLite Micro needs (measured), not an estimate
        arena = row["ram"]["arena_bytes"]
        row["arena_mb"] = None if arena is None else round(arena / 2**20, 3)
    elif kind is Kind.ESTIMATED:
        row["estimated_memory_mb"] = round(((conv.cost.stored_weight_bytes or 0) + conv.cost.activation_peak_bytes)
                                           / 2**20, 1)
        row["estimated_memory_method"] = ("weights as stored plus peak live activations (edgekit.analysis); "
                                          "no runtime overhead")
    size = conv.graph.file_bytes if kind is Kind.FAILED else row["size_bytes"]  # a failure has no figures
    row.update(variant=cell.variant, input_shape=list(conv.input_shape), params=conv.params,
               params_m=round(conv.params / 1e6, 3), mmacs=round(conv.cost.macs / 1e6, 2),
               size_mb=round(size / 1e6, 3), target=cell.target, model=cell.model, quant=cell.quant)
    if user is not None:
        row.update(source=user.source, converted_here=user.converted_here)
    if accuracy is None and user is not None:
        row.update(accuracy_pct=None, accuracy_note="not measured: the user's own model; run with --data (a "
                   "labelled folder, or digits) to score it as given")
    elif accuracy is None:
        row.update(accuracy_pct=None, accuracy_note="not measured: random weights at the architecture's default "
                   "input (costs only); run with --data for trained small-input variants")
    else:
        row.update(accuracy_pct=accuracy["accuracy_pct"], accuracy_note=accuracy["note"])
    return row

