"""``edgekit cluster status``: each live device of the lab answers its identity check, run on the node that owns it
(``edgekit.app.cluster``)."""

from __future__ import annotations

import os

from edgekit.app.cluster import Device, Lab, one_line
from edgekit.errors import EdgekitError


def identify_task(host: str, target: str) -> str:
    """Runs on the node that owns ``host``: the device's identity check, as a measurement starts with it."""
    from targets.identity import check, describe
    from targets.registry import get_target
    from targets.remote import Session
    from targets.ssh import SshOptions, parse_host

    python = os.environ.get("EDGEKIT_REMOTE_PYTHON") or "python3"
    try:
        with Session(parse_host(host), SshOptions.from_env(), python, timeout=60) as session:
            session.copy([])
            facts = session.facts()
        check(get_target(target), facts, host)
    except EdgekitError as err:
        return f"no: {err}"
    return f"yes: {describe(facts.get('identity') or {})}"


def device_answers(lab: Lab, timeout: float = 90.0) -> dict[Device, str]:
    """Each live device's identity check, run on its node; 'no answer' past ``timeout``."""
    import ray

    task = ray.remote(identify_task)
    refs = {task.options(num_cpus=0, resources={d.resource: 1}, max_retries=0).remote(d.host, d.target): d
            for d in lab.devices if lab.alive(d.node)}
    ready, _ = ray.wait(list(refs), num_returns=len(refs), timeout=timeout)
    out = {}
    for ref, dev in refs.items():
        if ref not in ready:
            ray.cancel(ref, force=True)
            out[dev] = f"no answer within {timeout:g} s"
            continue
        try:
            out[dev] = ray.get(ref)
        except Exception as err:
            out[dev] = f"no: {one_line(err)}"
    return out
