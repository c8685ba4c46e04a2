"""``edgekit study --cluster``: the study's units of work as Ray tasks on a device lab (``edgekit.app.cluster``).

- A conversion is a task that asks for the memory guard's estimate (``converters.memory``) on a node offered for
  conversions. It converts in a child process there (``converters.isolated``, so TensorFlow never loads into a
  Ray worker) into a private cache folder, and returns the cache entry: its key, the ``.tflite`` bytes, their
  sha256 and the sidecar. The driver puts it in its own converter cache, so the study then reads every
  conversion from the cache, and a re-run converts nothing. A lost node's conversion is retried elsewhere by Ray;
  a conversion that fails (or is killed for memory) is not retried.
- Measurements are ``edgekit.app.lab``'s: a device target's cells dealt out across that target's devices, each on
  the node that owns its device; this machine's CPU (``cpu``) on a conversion node converting nothing then.

Only the driver writes the results database, each result as it arrives. A node that dies mid-measurement fails
its cells with a row naming it; Ctrl-C stops what is still running at a round boundary (each task's ssh session
removes its folder on the device) and keeps every finished row.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from edgekit.errors import EdgekitError, UsageError
from edgekit.result import Result

CLUSTER_HOST = "cluster"  # the plan's host for a target the lab measures (part of each measurement's study key)


def plan_for(plan, lab):
    """The plan with each device target measured by the lab; a target it has no device for is one line."""
    from targets.registry import Method, Reach

    if plan.serials:
        raise UsageError("--serial and --cluster: the lab measures boards over ssh, not phones over adb; measure "
                         "the phones in a study without --cluster (or estimate them: drop --serial)")
    hosts = dict(plan.hosts)
    for key in plan.targets:
        target = plan.target(key)
        if plan.method(key) is Method.GPU:
            raise UsageError(f"--cluster measures {key} nowhere: a GPU is attached to one machine, and the lab "
                             f"schedules only devices and this machine's CPU; run {key} without --cluster")
        if target.reach is not Reach.SSH:
            continue
        if key in hosts:
            raise UsageError(f"--host {key}={hosts[key]} and --cluster: with --cluster the lab's devices measure "
                             f"{key}; drop --host")
        if not lab.devices_of(key):
            have = sorted({d.target for d in lab.devices if lab.alive(d.node)})
            raise EdgekitError(f"the cluster at {lab.address} has no device for target {key} (it has "
                               f"{', '.join(have) or 'none'}); join a lab host that owns one ('edgekit cluster join "
                               f"... --hosts FILE') or drop {key} from --targets")
        hosts[key] = CLUSTER_HOST
    return replace(plan, hosts=hosts)


def memory_skips(plan, lab, converted: Callable[[str, str], bool]) -> dict[str, str]:
    """Models whose conversion fits on no conversion node: model -> the guard's line, against the largest node."""
    from converters import memory
    from edgekit.study.forecast import weight_bytes_hint

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

    from converters import cache
    from converters.isolated import convert_in_child

    started = time.time()
    with tempfile.TemporaryDirectory(prefix="edgekit-cluster-") as tmp:
        saved = os.environ.get("EDGEKIT_CACHE_DIR")
        os.environ["EDGEKIT_CACHE_DIR"] = tmp
        try:
            convert_in_child(model, quant, samples=samples, output=Path(tmp) / "out.tflite", force=True,
                             memory_check=False)
            entry = next((Path(tmp) / "convert").glob("*/meta.json")).parent
            got = cache.get(entry.name)  # the model and its sidecar, checked, without the entry's bookkeeping
        finally:
            if saved is None:
                os.environ.pop("EDGEKIT_CACHE_DIR", None)
            else:
                os.environ["EDGEKIT_CACHE_DIR"] = saved
    if got is None:
        raise EdgekitError(f"converting {model} {quant}: the converted entry cannot be read back")
    data, meta = got
    return {"key": entry.name, "model": data, "sha256": hashlib.sha256(data).hexdigest(), "meta": meta,
            "node": ray.get_runtime_context().get_node_id(), "started": started, "ended": time.time()}


@dataclass
class Conversion:
    model: str
    quant: str
    need: int


def convert_all(plan, lab, say: Callable[[str], None], running: Callable[[int, int, list[str]], None]) -> list[dict]:
    """Every zoo conversion the driver's cache lacks, as Ray tasks; each entry into the cache as it arrives.
    ``running(done, total, still out)`` after each. Returns what each task reported (node, times, the estimate it
    asked for), for the record."""
    import ray

    from converters import cache, memory
    from converters.convert import NotCached, convert
    from edgekit.app.lab import node_name
    from edgekit.study.forecast import weight_bytes_hint

    todo = [Conversion(m, q, memory.check(m, q, weight_bytes_hint(m)).need)
            for m in plan.models for q in plan.quants if not _cached(plan, m, q)]
    if not todo:
        return []
    from edgekit.app.cluster import CONVERT
    from edgekit.app.lab import Outstanding, why_failed

    task = ray.remote(convert_task)
    out = Outstanding(lab)
    for i, c in enumerate(todo):  # a sliver of edgekit-convert: a host-attached measurement holds all of it
        out.add(task.options(memory=c.need, num_cpus=1, resources={CONVERT: 0.001}, max_retries=3,
                             retry_exceptions=False, name=f"convert {c.model} {c.quant}")
                .remote(c.model, c.quant, plan.settings.samples), [i], None)
    say(f"converting {len(todo)} model(s) on the cluster's conversion nodes")
    done: list[dict] = []
    running(0, len(todo), [f"{c.model} {c.quant}" for c in todo])
    for (i,), doc in out.as_they_finish():  # Ctrl-C: nothing is cancelled; the driver leaves, and Ray ends its tasks
        c = todo[i]
        if isinstance(doc, BaseException):
            raise EdgekitError(f"converting {c.model} {c.quant} on the cluster failed: {why_failed(doc)}")
        if hashlib.sha256(doc["model"]).hexdigest() != doc["sha256"]:
            raise EdgekitError(f"converting {c.model} {c.quant}: the bytes that arrived do not match their sha256")
        cache.put(doc["key"], doc["model"], doc["meta"])
        try:
            convert(c.model, c.quant, samples=plan.settings.samples, output=_scratch(plan, c), force=True,
                    cache_only=True)
        except NotCached:
            raise EdgekitError(f"node {node_name(lab, doc['node'])} converted {c.model} {c.quant} with another "
                               "TensorFlow or edgekit version than this machine's; install the same on every node "
                               "(docs/cluster.md)") from None
        done.append({"model": c.model, "quant": c.quant, "node": doc["node"], "started": doc["started"],
                     "ended": doc["ended"], "need": c.need})
        say(f"converted {c.model} {c.quant} on {node_name(lab, doc['node'])} in {doc['ended'] - doc['started']:.0f} s")
        running(len(done), len(todo), [f"{todo[j].model} {todo[j].quant}" for (j,), _ in out.refs.values()])
    return done


def _scratch(plan, c: Conversion) -> Path:
    from edgekit.study.cells import tflite_path

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


def measurer(lab, say: Callable[[str], None], show: Callable[[int, int, str], None] = lambda *_: None):
    """A ``measurer`` for ``edgekit.study.collect.collect``: one target's cells on the lab, a device target's dealt
    out across the lab's devices of that target, this machine's CPU on a conversion node (``edgekit.app.lab``)."""

    def measure_on_lab(plan, target: str, todo: list, _say, keep: Callable[[int, Result], None]) -> None:
        from edgekit.app.lab import Job, measure_jobs, node_name
        from edgekit.study.measure_cells import cell_config

        devices = lab.devices_of(target) if target in plan.hosts else []
        jobs = [Job(cell_config(plan, cell, conv), conv.graph, conv.cost.macs, devices[i % len(devices)] if devices
                    else None) for i, (cell, conv, _) in enumerate(todo)]
        where = ", ".join(f"{d.host} ({node_name(lab, d.node)})" for d in devices) or \
            "a conversion node, once it converts nothing"
        say(f"measuring {len(jobs)} configuration(s) of {target} on {where}")
        measure_jobs(lab, jobs, protocol=plan.settings.protocol(), keep=keep, say=say, show=show)

    return measure_on_lab
