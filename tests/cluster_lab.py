"""A device lab on this machine, for the ``cluster`` tier: run as ``unshare -n python tests/cluster_lab.py
SCENARIO OUT.json`` (root), so that every Ray node, the driver and the ssh devices talk over the loopback of a
network namespace of their own and nothing else.

The lab: a Ray head with no CPUs, two conversion nodes (1 CPU, 3 GiB of Ray memory each) and one lab node that
owns two devices, each a test sshd on 127.0.0.1 (``tests.sshd``; both x86, measured as the user target
``lab-x86``). Token authentication is on. Each scenario drives ``python -m edgekit`` against it and writes what
the test checks (exit codes, stderr, the stored rows) to OUT.json.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = "lab-x86"
TARGET_TOML = f"""name = "{TARGET}"
title = "An x86 lab device (a test sshd on loopback)"
sources = ["tests/cluster_lab.py"]

[cpu]
cores = 1
ghz = 2.0
fp32_flops_per_cycle_per_core = 16
int8_ops_per_cycle_per_core = 32
memory_gbps = 10
description = "x86 test device"
"""
STUDY = ("study", "--models", "lenet5", "--quant", "fp32,fp16,int8", "--targets", TARGET, "--quick")
STUDY_CPU = ("study", "--models", "lenet5", "--quant", "fp32,fp16,int8", "--targets", f"{TARGET},cpu", "--quick")
GiB = 2**30


def setup(work: Path) -> dict:
    """Loopback up, the environment every node and the driver share, the two devices."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    (work / "home" / "targets").mkdir(parents=True)
    (work / "home" / "targets" / f"{TARGET}.toml").write_text(TARGET_TOML)
    token = work / "ray_token"
    token.write_text(secrets.token_hex(32))
    env = {"PYTHONPATH": str(ROOT), "EDGEKIT_HOME": str(work / "home"), "EDGEKIT_BENCH_DIR": str(work / "bench"),
           "EDGEKIT_CACHE_DIR": str(work / "cache"), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token),
           "EDGEKIT_REMOTE_PYTHON": sys.executable, "RAY_task_oom_retries": "0", "RAY_USAGE_STATS_ENABLED": "0",
           "RAY_ADDRESS": ""}
    os.environ.update(env)
    from tests.sshd import SshWorld

    world = SshWorld(work / "ssh")
    world.server("dev-a")
    world.server("dev-b")
    os.environ.update(world.env())
    return {"world": world}


def start_cluster():
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "memory": 1})
    converters = [cluster.add_node(num_cpus=1, memory=3 * GiB, resources={"edgekit-convert": 1}) for _ in range(2)]
    lab = add_lab_node(cluster)
    return cluster, converters, lab


def add_lab_node(cluster):
    return cluster.add_node(num_cpus=1, memory=GiB, resources={f"device:{TARGET}/{h}": 1 for h in ("dev-a", "dev-b")})


def edgekit(*args: str, env: dict | None = None, timeout: float = 400) -> dict:
    proc = subprocess.run([sys.executable, "-m", "edgekit", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)
    return {"code": proc.returncode, "out": proc.stdout, "err": proc.stderr}


def start_edgekit(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "edgekit", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def rows(db: Path) -> list[dict]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db) as con:
            return [json.loads(doc) for (doc,) in con.execute("SELECT doc FROM results ORDER BY id")]
    except sqlite3.OperationalError:  # created a moment ago, its table not yet
        return []


def wait_for(what, seconds: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(every)
    return False


def ray_processes() -> list[str]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "raylet" in cmd or "gcs_server" in cmd or "ray::" in cmd:
                out.append(cmd[:120])
    return out


def device_leftovers(world) -> list[str]:
    return [str(p) for s in world.servers for p in (s.inside / "tmp").glob("edgekit.*")]


def scenario_study(work: Path, ctx: dict, cluster) -> dict:
    out = {}
    db = work / "r.db"
    started = time.monotonic()
    out["first"] = edgekit(*STUDY_CPU, "--out", str(work / "s1"), "--db", str(db), "--cluster", cluster.address)
    out["first_s"] = time.monotonic() - started
    out["rows_first"] = rows(db)
    out["results_json"] = json.loads((work / "s1" / "results.json").read_text()) \
        if (work / "s1" / "results.json").is_file() else None
    out["report_md"] = (work / "s1" / "report.md").read_text() if (work / "s1" / "report.md").is_file() else ""
    out["second"] = edgekit(*STUDY_CPU, "--out", str(work / "s2"), "--db", str(db),
                            env={"RAY_ADDRESS": cluster.address})
    out["rows_second"] = rows(db)
    out["cache_entries"] = len(list((work / "cache" / "convert").glob("*/meta.json")))
    # the same study without --cluster (this machine's CPU measured here, the device target estimated: the study
    # has no --remote-python for the test devices' Python): the rows and columns to compare
    local = edgekit(*STUDY_CPU, "--out", str(work / "local"), "--db", str(work / "local.db"))
    out["local"] = {"code": local["code"], "err": local["err"][-3000:],
                    "rows": json.loads((work / "local" / "results.json").read_text())["rows"]
                    if (work / "local" / "results.json").is_file() else []}
    out["csv_header"] = [(work / d / "results.csv").read_text().splitlines()[0] if (work / d / "results.csv").is_file()
                         else None for d in ("s1", "local")]
    # edgekit bench --cluster: the configs on every device of the target, stored by this driver; and one --host run
    bench = ("bench", str(ROOT / "tests" / "data" / "tiny_fp32.tflite"), "--target", TARGET, "--rounds", "2",
             "--runs", "3", "--min-seconds", "0.05", "--json")
    out["bench"] = edgekit(*bench, "--db", str(work / "b.db"), "--cluster", cluster.address)
    out["bench_rows"] = rows(work / "b.db")
    out["bench_host"] = edgekit(*bench, "--db", str(work / "bh.db"), "--host", "dev-a", "--remote-python",
                                sys.executable)
    out["bench_host_rows"] = rows(work / "bh.db")
    return out


def scenario_kill_convert(work: Path, ctx: dict, cluster, converters) -> dict:
    """Kill the node that took the first conversion, mid-conversion; the study still finishes."""
    import ray

    db = work / "r.db"
    proc = start_edgekit(*STUDY, "--models", "lenet5", "--quant", "fp32", "--out", str(work / "s"), "--db", str(db),
                         "--cluster", cluster.address)
    ray.init(address=cluster.address, log_to_driver=False, logging_level="ERROR")
    victim = {}

    def converting() -> bool:
        from ray.util.state import list_tasks

        for t in list_tasks(filters=[("state", "=", "RUNNING")], raise_on_missing_output=False):
            if t.name.startswith("convert"):
                victim["node"] = t.node_id
                return True
        return False

    found = wait_for(converting, 120, every=0.5)
    time.sleep(2)  # inside the child's conversion
    node = next((n for n in converters if n.node_id == victim.get("node")), None)
    if node is not None:
        cluster.remove_node(node, allow_graceful=False)
    stdout, stderr = proc.communicate(timeout=400)
    ray.shutdown()
    return {"found": found, "killed": node is not None, "victim": victim.get("node"), "code": proc.returncode,
            "err": stderr, "out": stdout, "rows": rows(db),
            "survivor": next(n.node_id for n in converters if n is not node)}


def scenario_kill_lab(work: Path, ctx: dict, cluster, lab) -> dict:
    """Kill the lab node once one cell is stored; then a new lab node joins and a re-run measures the rest."""
    db = work / "r.db"
    study = (*STUDY, "--db", str(db), "--cluster", cluster.address)
    proc = start_edgekit(*study, "--out", str(work / "s1"))
    wait_for(lambda: len(rows(db)) >= 1 or proc.poll() is not None, 300, every=0.1)
    stored = len(rows(db)) >= 1
    cluster.remove_node(lab, allow_graceful=False)
    stdout, stderr = proc.communicate(timeout=300)
    out = {"stored_before_kill": stored, "first": {"code": proc.returncode, "err": stderr, "out": stdout},
           "rows_first": rows(db)}
    _wait_until_dead(cluster, lab.node_id)  # Ray's health check marks it dead seconds later: no cell dealt to it
    add_lab_node(cluster)
    time.sleep(2)
    out["second"] = edgekit(*study, "--out", str(work / "s2"))
    out["rows_second"] = rows(db)
    out["results_second"] = json.loads((work / "s2" / "results.json").read_text()) \
        if (work / "s2" / "results.json").is_file() else None
    return out


def _wait_until_dead(cluster, node_id: str, timeout: float = 90) -> None:
    import ray

    ray.init(address=cluster.address, log_to_driver=False, logging_level="ERROR")
    try:
        wait_for(lambda: not any(n["NodeID"] == node_id and n["Alive"] for n in ray.nodes()), timeout, every=0.5)
    finally:
        ray.shutdown()


def scenario_sigint(work: Path, ctx: dict, cluster) -> dict:
    db = work / "r.db"
    proc = start_edgekit(*STUDY, "--out", str(work / "s"), "--db", str(db),
                         "--cluster", cluster.address)
    wait_for(lambda: len(rows(db)) >= 1 or proc.poll() is not None, 300, every=0.1)
    stored = len(rows(db)) >= 1
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    time.sleep(1)
    return {"stored_before": stored, "code": proc.returncode, "err": stderr, "rows": rows(db),
            "device_leftovers": device_leftovers(ctx["world"])}


def scenario_speedup(work: Path, ctx: dict) -> dict:
    """The benchmark: the same cold study (three real conversions, three device cells) on a cluster with one
    conversion node, then on one with two; then, on the second, a warm re-run (nothing to do) through --cluster
    and the same warm study without it, for the start-up overhead of the cluster path."""
    from ray.cluster_utils import Cluster

    out: dict = {}
    for n in (1, 2):
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "memory": 1})
        try:
            for _ in range(n):
                cluster.add_node(num_cpus=1, memory=3 * GiB, resources={"edgekit-convert": 1})
            add_lab_node(cluster)
            env = {"EDGEKIT_CACHE_DIR": str(work / f"cache{n}"), "EDGEKIT_BENCH_DIR": str(work / f"bench{n}")}
            args = (*STUDY, "--db", str(work / f"r{n}.db"), "--cluster", cluster.address)
            started = time.monotonic()
            run = edgekit(*args, "--out", str(work / f"s{n}"), env=env)
            seconds = time.monotonic() - started
            doc = json.loads((work / f"s{n}" / "results.json").read_text()) if run["code"] == 0 else {}
            convs = doc.get("cluster", {}).get("conversions", [])
            out[f"nodes{n}"] = {"code": run["code"], "err": run["err"][-2000:], "seconds": seconds,
                                "convert_span_s": max(c["ended"] for c in convs) - min(c["started"] for c in convs)
                                if convs else None, "convert_nodes": len({c["node"] for c in convs})}
            if n == 2:
                started = time.monotonic()
                warm = edgekit(*args, "--out", str(work / "warm"), env=env)
                out["warm_cluster_s"] = time.monotonic() - started
                # the same study without --cluster, its device cells estimated (the study has no --remote-python
                # for the test devices' Python, so it cannot measure them over ssh itself): a warm run's fixed cost
                local = (*STUDY, "--db", str(work / "local.db"), "--out", str(work / "local"), "--force")
                edgekit(*local, env=env)  # converts nothing (the cache is warm); the next one is the warm run
                started = time.monotonic()
                warm_local = edgekit(*local, env=env)
                out["warm_local_s"] = time.monotonic() - started
                out["warm_codes"] = [warm["code"], warm_local["code"]]
                out["warm_err"] = warm["err"][-1500:] + warm_local["err"][-1500:]
        finally:
            cluster.shutdown()
    return out


def scenario_bad_input(work: Path, ctx: dict, cluster) -> dict:
    hosts = work / "hosts.txt"
    hosts.write_text("rpi9 pi@dev-a\n")
    # a driver whose Ray is not the cluster's (and whose pin says the same, so that Ray itself refuses it)
    version = ("import sys, ray; ray.__version__ = '2.59.0'; import edgekit.app.cluster as c; "
               "c.RAY_VERSION = '2.59.0'; from edgekit.cli import main; sys.exit(main(sys.argv[1:]))")
    mismatch = subprocess.run([sys.executable, "-c", version, *STUDY, "--out", str(work / "v"), "--cluster",
                               cluster.address], capture_output=True, text=True, timeout=120)
    return {
        "unreachable": edgekit(*STUDY, "--out", str(work / "u"), "--cluster", "127.0.0.1:1", timeout=60),
        "no_device": edgekit("study", "--models", "lenet5", "--quant", "fp32", "--targets", "rpi4", "--quick",
                             "--out", str(work / "n"), "--cluster", cluster.address, timeout=120),
        "too_big": edgekit("study", "--models", "vgg16", "--quant", "int8", "--targets", TARGET, "--quick",
                           "--out", str(work / "b"), "--cluster", cluster.address, timeout=120),
        "mismatch": {"code": mismatch.returncode, "out": mismatch.stdout, "err": mismatch.stderr},
        "unknown_target": edgekit("cluster", "join", cluster.address, "--hosts", str(hosts), timeout=60),
        "status": edgekit("cluster", "status", "--cluster", cluster.address, timeout=120),
    }


def main() -> int:
    scenario, out_file = sys.argv[1], Path(sys.argv[2])
    with tempfile.TemporaryDirectory(prefix="edgekit-lab-") as tmp:
        work = Path(tmp)
        ctx = setup(work)
        cluster = None
        result: dict = {}
        try:
            if scenario == "speedup":  # clusters of its own
                result.update(scenario_speedup(work, ctx))
                return 0
            started = time.monotonic()
            cluster, converters, lab = start_cluster()
            result["cluster_start_s"] = time.monotonic() - started
            result["address"] = cluster.address
            if scenario == "study":
                result.update(scenario_study(work, ctx, cluster))
            elif scenario == "kill-convert":
                result.update(scenario_kill_convert(work, ctx, cluster, converters))
            elif scenario == "kill-lab":
                result.update(scenario_kill_lab(work, ctx, cluster, lab))
            elif scenario == "sigint":
                result.update(scenario_sigint(work, ctx, cluster))
            elif scenario == "bad-input":
                result.update(scenario_bad_input(work, ctx, cluster))
            else:
                raise SystemExit(f"unknown scenario {scenario}")
        finally:
            if cluster is not None:
                cluster.shutdown()
            ctx["world"].stop()
            result["ray_left"] = ray_processes()
            out_file.write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
