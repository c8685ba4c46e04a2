"""Measuring on a device lab (``edgekit.app.cluster``): configurations as Ray tasks (``edgekit.app.lab_tasks``),
placed and gathered here, for ``edgekit study --cluster`` and ``edgekit bench --cluster`` alike.

- A device measurement is one configuration's rounds on one device (``targets.remote.measure_host``, the ssh runner
  of ``bench.service.measure``), a task that asks for the device's resource (``device:TARGET/HOST``, capacity 1) and
  so runs on the node that owns it, one at a time per device, the device's identity check first.
- A host-attached measurement (this machine's CPU, ``Method.LOCAL``) is a task on a conversion node that holds the
  whole of its ``edgekit-convert`` resource, which every conversion holds a sliver of: it runs only while that node
  converts nothing, and no conversion starts there until it ends. It measures in interleaved rounds as a local run.
- Only the driver writes the results database: ``keep(i, result)`` as each task ends, with ``where`` (node and
  device) and ``cluster`` (node id, device, start and end time) on the result.

Stopping: nothing is ever ``ray.cancel``-led (Ray 2.60's core worker can abort on a cancel that races a task's
completion). Ctrl-C sets a flag (a small actor); each measurement asks it before every round and ends at the next
round boundary through its ssh session's clean-up, which removes its folder on the device; a task not yet started
returns at once. The driver waits for them (at most ``STOP_WAIT_S``; Ctrl-C again leaves at once), keeps what
finished meanwhile, and raises the KeyboardInterrupt on. The tasks themselves are ``edgekit.app.lab_tasks``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from edgekit.app.lab_tasks import ASK_S, StopFlag, device_task, host_task, task_files
from edgekit.errors import EdgekitError
from edgekit.result import Result

POLL_S = 1.0
STOP_WAIT_S = 60.0  # how long a Ctrl-C waits for the running measurements to end their round and clean up


@dataclass(frozen=True)
class Job:
    """One configuration to measure: its ``bench.runner.Config`` (whose ``path`` is on the driver), the graph and
    MACs its result is built with, and the device that measures it (None: host-attached, on a conversion node)."""

    config: object
    graph: object
    macs: int
    device: object | None = None  # edgekit.app.cluster.Device


class Tally:
    """The one progress line: cells done of the total, per node and device."""

    def __init__(self, lab, jobs: list[Job], show: Callable[[int, int, str], None]):
        self.lab, self.show, self.done = lab, show, 0
        self.per: dict[str, list[int]] = {}
        for job in jobs:
            self.per.setdefault(self.name(job), [0, 0])[1] += 1
        self.total = len(jobs)
        self.update()

    def name(self, job: Job, node_id: str | None = None) -> str:
        if job.device is None:
            return "host-attached on a conversion node" if node_id is None else node_name(self.lab, node_id)
        return f"{job.device.host} ({node_name(self.lab, job.device.node)})"

    def tick(self, job: Job) -> None:
        self.done += 1
        self.per[self.name(job)][0] += 1
        self.update()

    def update(self) -> None:
        each = ", ".join(f"{name} {d}/{t}" for name, (d, t) in self.per.items())
        self.show(self.done, self.total, f"measured {self.done} of {self.total}: {each}")


def measure_jobs(lab, jobs: list[Job], *, protocol, keep: Callable[[int, Result], None],
                 say: Callable[[str], None], show: Callable[[int, int, str], None] = lambda *_: None) -> None:
    """Each job on the lab, ``keep(i, result)`` as each ends: a measurement, or a failure naming its node and device.
    ``show(done, total, line)``: the progress (jobs done of the total; the line has them per node and device).
    Ctrl-C: see the module's docstring."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from edgekit.app.cluster import CONVERT

    here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=True)
    flag = ray.remote(StopFlag).options(num_cpus=0, scheduling_strategy=here).remote()  # on the driver's node
    device, host = ray.remote(device_task), ray.remote(host_task)
    out = Outstanding(lab)
    for i, job in enumerate(jobs):
        if job.device is not None:
            dev = job.device
            ref = device.options(num_cpus=0, resources={dev.resource: 1}, max_retries=0,
                                 name=f"measure {job.config.model} {job.config.quant} on {dev.host}") \
                .remote(job.config, *task_files(job.config), dev.host, dev.target, protocol, flag)
            out.add(ref, [i], dev)
    attached = [i for i, job in enumerate(jobs) if job.device is None]
    if attached:
        ref = host.options(num_cpus=1, resources={CONVERT: 1}, max_retries=0, name="measure host-attached") \
            .remote([jobs[i].config for i in attached], [task_files(jobs[i].config) for i in attached], protocol, flag)
        out.add(ref, attached, None)
    tally = Tally(lab, jobs, show)
    try:
        for indices, doc in out.as_they_finish():
            _keep_doc(lab, jobs, indices, doc, keep, tally)
    except KeyboardInterrupt:
        _stop(out, flag, lambda indices, doc: _keep_doc(lab, jobs, indices, doc, keep, tally, stopping=True), say)
        raise


def _keep_doc(lab, jobs: list[Job], indices: list[int], doc, keep, tally: Tally, stopping: bool = False) -> None:
    from bench.result import build_result, failure_result
    from targets.remote_result import to_result

    for i in indices:
        job = jobs[i]
        dev = job.device
        node_id = dev.node if dev is not None else doc.get("node") if isinstance(doc, dict) else None
        node = node_name(lab, node_id) if node_id else "a conversion node"
        where = f"{node} {dev.host}" if dev is not None else node
        one = doc if dev is not None or not isinstance(doc, dict) else doc["results"].get(i)
        if isinstance(one, BaseException) or one is None or one.get("rounds") is None:
            if stopping:
                continue  # what Ctrl-C stopped is not a failure: a re-run measures it
            why = why_failed(one) if isinstance(one, BaseException) else (one or {}).get("error") or "not measured"
            result = failure_result(job.config, EdgekitError(f"node {where}: {why}"))
        else:
            result = to_result(job.config, one["rounds"], job.graph, job.macs, dev.host) if dev is not None \
                else build_result(job.config, one["rounds"], job.graph, job.macs, round_ids=one["ids"])
            result = result.with_keys(cluster={"node": doc["node"], "device": dev.host if dev is not None else None,
                                               "started": doc["started"], "ended": doc["ended"]})
        keep(i, result.with_keys(where=where))
        tally.tick(job)


def _stop(out: Outstanding, flag, kept: Callable[[list[int], object], None], say) -> None:
    """Ctrl-C: the tasks still out end at their next round and clean their devices up; what finishes is kept."""
    import ray

    if not out.refs:
        return
    say(f"stopping: {len(out.refs)} measurement task(s) end their round and clean up their devices (at most "
        f"{STOP_WAIT_S:g} s; Ctrl-C again leaves at once)")
    try:
        ray.get(flag.set.remote(), timeout=ASK_S)
    except Exception:
        return
    deadline = time.monotonic() + STOP_WAIT_S
    pending = list(out.refs)
    while pending and time.monotonic() < deadline:
        ready, pending = ray.wait(pending, num_returns=1, timeout=max(0.1, deadline - time.monotonic()))
        for ref in ready:
            try:
                doc = ray.get(ref)
            except Exception as err:
                doc = err
            kept(out.refs.pop(ref)[0], doc)


class Outstanding:
    """The lab's tasks still out: ref -> (the job indices it measures, its device or None)."""

    def __init__(self, lab):
        self.lab = lab
        self.refs: dict = {}

    def add(self, ref, indices: list[int], device) -> None:
        self.refs[ref] = (indices, device)

    def as_they_finish(self) -> Iterator[tuple[list[int], object]]:
        """(job indices, the task's value or its error) as each task ends. A device task whose node left the
        cluster ends with an error naming it at once, even one Ray would wait for forever (a device resource no
        node has now); a task whose node is gone cannot complete, so forgetting it races nothing. A task is
        forgotten only once its value is read, so that Ctrl-C meanwhile still finds it here."""
        import ray

        from edgekit.app.cluster import lab_now

        while self.refs:
            ready, _ = ray.wait(list(self.refs), num_returns=1, timeout=POLL_S)
            for ref in ready:
                try:
                    value = ray.get(ref)
                except Exception as err:  # the task's own error, or its node's death
                    value = err
                yield self.refs.pop(ref)[0], value
            if not ready and self.refs:
                now = lab_now(self.lab.address)
                for ref, (indices, dev) in list(self.refs.items()):
                    if dev is not None and not now.alive(dev.node):
                        del self.refs[ref]
                        yield indices, EdgekitError("the node left the cluster before measuring it")


def why_failed(err: BaseException) -> str:
    """The cause of a task's failure in one line: the task's own message, or what happened to its node."""
    import ray.exceptions as rex

    if isinstance(err, rex.RayTaskError):
        cause = err.cause if getattr(err, "cause", None) is not None else err
        text = str(cause).strip().splitlines()
        return text[-1] if text else type(cause).__name__
    if isinstance(err, (rex.NodeDiedError, rex.WorkerCrashedError, rex.ObjectLostError, rex.OwnerDiedError)):
        return f"its node died ({type(err).__name__})"
    if isinstance(err, EdgekitError):
        return str(err)
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def node_name(lab, node_id: str) -> str:
    node = lab.node(node_id)
    return node.name if node is not None else node_id[:8]
