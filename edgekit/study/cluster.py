"""``edgekit study --cluster``: the study's units of work as Ray tasks on a device lab (``edgekit.app.cluster``).

- A conversion is a task that asks for the memory guard's estimate (``converters.memory``) on a node offered for
  conversions. It converts in a child process there (``converters.isolated``, so TensorFlow never loads into a
  Ray worker) into a private cache folder, and returns the cache entry: its key, the ``.tflite`` bytes, their
  sha256 and the sidecar. The driver puts it in its own converter cache, so the study then reads every
  conversion from the cache, and a re-run converts nothing. A lost node's conversion is retried elsewhere by Ray;
  a conversion that fails (or is killed for memory) is not retried.
- A measurement is one cell's rounds on one device (``targets.remote.measure_host``, the ssh runner of
  ``bench.service.measure``), a task that asks for the device's resource (``device:KIND/HOST``, capacity 1) and so
  runs on the node that owns it, one at a time per device. Cells of a target kind are dealt out across that kind's
  devices. The device's identity check runs there, before anything is measured.

Only the driver writes the results database, each result as it arrives. A node that dies mid-measurement fails
its cells with a row naming it; Ctrl-C cancels what is still running (each task's ssh session removes its folder
on the device) and keeps every finished row.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from edgekit.errors import EdgekitError, UsageError

REMOTE_PYTHON_ENV = "EDGEKIT_REMOTE_PYTHON"  # the devices' Python, set on the node by 'edgekit cluster join'
CLUSTER_HOST = "cluster"  # the plan's host for a target the lab measures (part of each measurement's study key)
POLL_S = 1.0
CANCEL_WAIT_S = 20.0


def plan_for(plan, lab):
    """The plan with each device target measured by the lab; a target it has no device for is one line."""
    from targets.registry import Reach, get_target

    if plan.serials:
        raise UsageError("--serial and --cluster: the lab measures boards over ssh, not phones over adb; measure "
                         "the phones in a study without --cluster (or estimate them: drop --serial)")
    hosts = dict(plan.hosts)
    for key in plan.targets:
        target = get_target(key)
        if target.reach is not Reach.SSH:
            continue
        if key in hosts:
            raise UsageError(f"--host {key}={hosts[key]} and --cluster: with --cluster the lab's devices measure "
                             f"{key}; drop --host")
        if not lab.devices_of(key):
            have = sorted({d.kind for d in lab.devices if lab.alive(d.node)})
            raise EdgekitError(f"the cluster at {lab.address} has no device for target {key} (it has "
                               f"{', '.join(have) or 'none'}); join a lab host that owns one ('edgekit cluster join "
                               f"... --hosts FILE') or drop {key} from --targets")
        hosts[key] = CLUSTER_HOST
    return replace(plan, hosts=hosts)


def memory_skips(plan, lab, converted: Callable[[str, str], bool]) -> dict[str, str]:
    """Models whose conversion fits on no conversion node: model -> the guard's line, against the largest node."""
    from converters import memory
    from edgekit.study.plan import weight_bytes_hint

    room = lab.convert_memory()
    out = {}
    for model in plan.models:
        todo = [q for q in plan.quants if not converted(model, q)]
        if todo and room is None:
            raise EdgekitError(f"the cluster at {lab.address} has no node for conversions and {model} is not "
                               "converted yet; join one with 'edgekit cluster join ADDRESS --convert'")
        checks = [replace(memory.check(model, q, weight_bytes_hint(model)), available=room) for q in todo]
        worst = max(checks, key=lambda c: c.need, default=None)
        if worst is not None and not worst.fits:
            out[model] = worst.message() + " on the largest conversion node"
    return out


# --- conversions ---------------------------------------------------------------------------------------------


def convert_task(model: str, quant: str, samples: int) -> dict:
    """Runs on a conversion node: convert in a child process into a private cache, and return its entry."""
    import ray

    from converters.isolated import convert_in_child

    started = time.time()
    with tempfile.TemporaryDirectory(prefix="edgekit-cluster-") as tmp:
        saved = os.environ.get("EDGEKIT_CACHE_DIR")
        os.environ["EDGEKIT_CACHE_DIR"] = tmp
        try:
            convert_in_child(model, quant, samples=samples, output=Path(tmp) / "out.tflite", force=True,
                             memory_check=False)
        finally:
            if saved is None:
                os.environ.pop("EDGEKIT_CACHE_DIR", None)
            else:
                os.environ["EDGEKIT_CACHE_DIR"] = saved
        entry = next((Path(tmp) / "convert").glob("*/meta.json")).parent
        data = (entry / "model.tflite").read_bytes()
        meta = json.loads((entry / "meta.json").read_text())
    return {"key": entry.name, "model": data, "sha256": hashlib.sha256(data).hexdigest(), "meta": meta,
            "node": ray.get_runtime_context().get_node_id(), "started": started, "ended": time.time()}


@dataclass
class Conversion:
    model: str
    quant: str
    need: int


def convert_all(plan, lab, say: Callable[[str], None], running: Callable[[int, int], None]) -> list[dict]:
    """Every zoo conversion the driver's cache lacks, as Ray tasks; each entry into the cache as it arrives.
    ``running(done, total)`` after each. Returns what each task reported (node, times), for the record."""
    import ray

    from converters import cache, memory
    from converters.convert import NotCached, convert
    from edgekit.study.plan import weight_bytes_hint

    todo = [Conversion(m, q, memory.check(m, q, weight_bytes_hint(m)).need)
            for m in plan.models for q in plan.quants if not _cached(plan, m, q)]
    if not todo:
        return []
    task = ray.remote(convert_task)
    refs = {task.options(memory=c.need, num_cpus=1, resources={"edgekit-convert": 0.001}, max_retries=3,
                         retry_exceptions=False, name=f"convert {c.model} {c.quant}")
            .remote(c.model, c.quant, plan.settings.samples): c for c in todo}
    say(f"converting {len(todo)} model(s) on the cluster's conversion nodes")
    done: list[dict] = []
    running(0, len(todo))
    for _ref, c, doc in _as_they_finish(refs, lab):
        if isinstance(doc, BaseException):
            raise EdgekitError(f"converting {c.model} {c.quant} on the cluster failed: {_why(doc)}")
        if hashlib.sha256(doc["model"]).hexdigest() != doc["sha256"]:
            raise EdgekitError(f"converting {c.model} {c.quant}: the bytes that arrived do not match their sha256")
        cache.put(doc["key"], doc["model"], doc["meta"])
        try:
            convert(c.model, c.quant, samples=plan.settings.samples, output=_scratch(plan, c), force=True,
                    cache_only=True)
        except NotCached:
            raise EdgekitError(f"node {_node_name(lab, doc['node'])} converted {c.model} {c.quant} with another "
                               "TensorFlow or edgekit version than this machine's; install the same on every node "
                               "(docs/cluster.md)") from None
        done.append({"model": c.model, "quant": c.quant, "node": doc["node"], "started": doc["started"],
                     "ended": doc["ended"], "need": c.need})
        say(f"converted {c.model} {c.quant} on {_node_name(lab, doc['node'])} in {doc['ended'] - doc['started']:.0f} s")
        running(len(done), len(todo))
    return done


def _scratch(plan, c: Conversion) -> Path:
    from edgekit.study.collect import tflite_path

    out = tflite_path(plan, "zoo", c.model, c.quant)
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def _cached(plan, model: str, quant: str) -> bool:
    from converters.convert import NotCached, convert

    try:
        convert(model, quant, samples=plan.settings.samples, output=_scratch(plan, Conversion(model, quant, 0)),
                force=True, cache_only=True)
        return True
    except NotCached:
        return False


# --- measurements --------------------------------------------------------------------------------------------


def measure_task(cfg, data: bytes, sidecar: bytes | None, host: str, kind: str, protocol) -> dict:
    """Runs on the node that owns ``host``: one cell's rounds there over ssh, the device checked first."""
    import ray

    from targets.identity import check
    from targets.registry import get_target
    from targets.remote import measure_host
    from targets.remote_result import remote_config
    from targets.ssh import SshOptions, parse_host

    named = get_target(kind)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="edgekit-cell-") as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(data)
        if sidecar is not None:
            Path(f"{path}.json").write_bytes(sidecar)
        rcfg = remote_config(replace(cfg, path=str(path)), named.delegate)
        outcome = measure_host(parse_host(host), [rcfg], SshOptions.from_env(), protocol=protocol,
                               python=os.environ.get(REMOTE_PYTHON_ENV) or "python3",
                               identify=lambda facts: check(named, facts, host))
    rounds = outcome.measured[0][1] if outcome.measured else None
    return {"rounds": rounds, "error": None if outcome.error is None else str(outcome.error),
            "node": ray.get_runtime_context().get_node_id(), "device": host, "started": started,
            "ended": time.time()}


def measurer(lab, say: Callable[[str], None]):
    """A ``measure`` for ``edgekit.study.collect.collect``: one target's cells on the lab's devices of that kind."""

    def measure(plan, target: str, todo: list, _say, keep: Callable[[int, dict], None]) -> None:
        _measure_target(plan, lab, target, todo, say, keep)

    return measure


def _measure_target(plan, lab, target: str, todo: list, say, keep) -> None:
    import ray

    from bench.result import failure_result
    from edgekit.study.collect import _config
    from targets.remote_result import to_result

    devices = lab.devices_of(target)
    configs = [_config(plan, cell, conv) for cell, conv, _ in todo]
    say(f"measuring {len(configs)} configuration(s) of {target} on {len(devices)} device(s): "
        + ", ".join(f"{d.host} ({_node_name(lab, d.node)})" for d in devices))
    task = ray.remote(measure_task)
    protocol = plan.settings.protocol()
    refs = {}
    for i, cfg in enumerate(configs):
        dev = devices[i % len(devices)]
        conv = todo[i][1]
        sidecar = Path(f"{conv.path}.json")
        ref = task.options(num_cpus=0, resources={dev.resource: 1}, max_retries=0, name=f"measure {i} {dev.host}") \
            .remote(cfg, conv.path.read_bytes(), sidecar.read_bytes() if sidecar.is_file() else None, dev.host,
                    target, protocol)
        refs[ref] = (i, dev)
    for _ref, (i, dev), doc in _as_they_finish(refs, lab):
        node = _node_name(lab, dev.node)
        if isinstance(doc, BaseException) or doc["rounds"] is None:
            why = _why(doc) if isinstance(doc, BaseException) else doc["error"]
            failed = failure_result(configs[i], EdgekitError(f"node {node} (device {dev.host}): {why}"))
            failed["where"] = f"{node} {dev.host}"
            keep(i, failed)
            continue
        conv = todo[i][1]
        result = to_result(configs[i], doc["rounds"], conv.graph, conv.cost.macs, dev.host)
        result["where"] = f"{node} {dev.host}"
        result["cluster"] = {"node": doc["node"], "device": dev.host, "started": doc["started"],
                             "ended": doc["ended"]}
        keep(i, result)


def _as_they_finish(refs: dict, lab):
    """(ref, what it was for, its value or its error) as each task ends. A task whose node left the cluster
    ends with an error naming it, at once, even one Ray would wait for (a device resource no node has now).
    Ctrl-C cancels every task still out (each removes its folder on the device) before it goes on."""
    import ray

    from edgekit.app.cluster import lab_now

    out = dict(refs)
    try:
        while out:
            ready, _ = ray.wait(list(out), num_returns=1, timeout=POLL_S)
            for ref in ready:
                what = out.pop(ref)
                try:
                    yield ref, what, ray.get(ref)
                except Exception as err:  # the task's own error, or its node's death
                    yield ref, what, err
            if not ready and out:
                now = lab_now(lab.address)
                for ref, what in list(out.items()):
                    dev = what[1] if isinstance(what, tuple) else None
                    if dev is not None and not now.alive(dev.node):
                        ray.cancel(ref, force=True)
                        del out[ref]
                        yield ref, what, EdgekitError("the node left the cluster before measuring it")
    except (KeyboardInterrupt, GeneratorExit):
        _cancel(list(out))
        raise


def _cancel(refs: list) -> None:
    import ray

    if not refs:
        return
    # Only tasks still running: Ray 2.60's core worker can abort on a cancel that races a task's completion
    # ("Tried to complete task that was not pending"), seen once in a few runs of the Ctrl-C test.
    _, refs = ray.wait(refs, num_returns=len(refs), timeout=0)
    for ref in refs:
        try:
            ray.cancel(ref)  # a KeyboardInterrupt in the task: its ssh session cleans up the device
        except Exception:
            pass
    if refs:
        ray.wait(refs, num_returns=len(refs), timeout=CANCEL_WAIT_S)


def _why(err: BaseException) -> str:
    """The cause of a task's failure in one line: the task's own message, or what happened to its node."""
    import ray.exceptions as rex

    if isinstance(err, rex.RayTaskError):
        cause = err.cause if getattr(err, "cause", None) is not None else err
        text = str(cause).strip().splitlines()
        return text[-1] if text else type(cause).__name__
    if isinstance(err, (rex.NodeDiedError, rex.WorkerCrashedError, rex.ObjectLostError, rex.OwnerDiedError)):
        return f"its node died ({type(err).__name__})"
    if isinstance(err, rex.TaskCancelledError):
        return "cancelled"
    if isinstance(err, EdgekitError):
        return str(err)
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _node_name(lab, node_id: str) -> str:
    node = lab.node(node_id)
    return node.name if node is not None else node_id[:8]
