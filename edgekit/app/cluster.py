"""A device lab on a Ray cluster: connect to it and see its nodes and devices (a lab host joins it through
``edgekit.app.cluster_join``; its devices answer through ``edgekit.app.cluster_status``).

Ray is imported only inside these functions, so nothing that runs without ``--cluster`` imports it. A lab host
runs a Ray node (``edgekit cluster join``) and keeps driving its devices over ssh; each device is a custom
resource of its node, ``device:TARGET/HOST`` with capacity 1, so Ray runs one task per device at a time, and a
node offered for conversions (``--convert``) has the ``edgekit-convert`` resource. Token authentication is on:
``RAY_AUTH_MODE=token`` unless the user set it, with the token from ``$RAY_AUTH_TOKEN_PATH``, ``$RAY_AUTH_TOKEN``
or ``~/.ray/auth_token``, never from the command line (docs/cluster.md).
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import EdgekitError, UsageError

DEVICE = "device:"  # resource name prefix: device:TARGET/HOST
CONVERT = "edgekit-convert"  # resource of a node that takes conversions
RAY_VERSION = "2.60.0"  # the [cluster] extra's pin; every node runs the same (Ray refuses a mismatch)
CONNECT_S = 15.0


@dataclass(frozen=True)
class Device:
    """One device of the lab: the target it is measured as (a target key), its ssh host, and the node that owns it."""

    target: str
    host: str
    node: str  # node id

    @property
    def resource(self) -> str:
        return resource_of(self.target, self.host)


@dataclass(frozen=True)
class Node:
    node_id: str
    ip: str
    alive: bool
    memory: int  # bytes Ray may schedule
    cpus: float
    converts: bool

    @property
    def name(self) -> str:
        return f"{self.ip}/{self.node_id[:8]}"


@dataclass(frozen=True)
class Lab:
    """What the cluster has now: its nodes and its devices."""

    address: str
    nodes: tuple[Node, ...]
    devices: tuple[Device, ...]

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.node_id == node_id), None)

    def devices_of(self, target: str) -> list[Device]:
        return [d for d in self.devices if d.target == target and self.alive(d.node)]

    def alive(self, node_id: str) -> bool:
        node = self.node(node_id)
        return node is not None and node.alive

    def convert_memory(self) -> int | None:
        """The most memory one conversion can get on a live conversion node; None when none takes conversions."""
        sizes = [n.memory for n in self.nodes if n.alive and n.converts]
        return max(sizes) if sizes else None


def resource_of(target: str, host: str) -> str:
    return f"{DEVICE}{target}/{host}"


def cluster_address(address: str | None) -> str:
    """``--cluster``, else ``$RAY_ADDRESS``, as HOST:PORT."""
    text = (address or os.environ.get("RAY_ADDRESS") or "").strip()
    if text.startswith("ray://"):
        raise UsageError(f"--cluster {text!r}: give the head's GCS address HOST:PORT (the one 'ray start --head' "
                         "prints), not a Ray Client ray:// address")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise UsageError(f"--cluster {text!r} must be HOST:PORT, the head's address (e.g. 10.0.0.5:6379)")
    return text


def auth_env() -> None:
    """Token authentication on unless the user chose otherwise; the token must exist before Ray is reached."""
    os.environ.setdefault("RAY_AUTH_MODE", "token")
    if os.environ["RAY_AUTH_MODE"].lower() != "token":
        return
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    if os.environ.get("RAY_AUTH_TOKEN"):
        return
    token = Path(path) if path else Path.home() / ".ray" / "auth_token"
    if not token.is_file() or not token.read_text().strip():
        raise UsageError(f"Ray's token authentication is on and no token was found at {token}: copy the head's "
                         "token there, or point $RAY_AUTH_TOKEN_PATH at it (docs/cluster.md)")


def reachable(address: str, timeout: float) -> str:
    """This machine's address toward the head (Ray would probe a public DNS server to find it otherwise)."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            return sock.getsockname()[0]
    except OSError as err:
        raise EdgekitError(f"cannot reach the Ray cluster at {address} ({err.strerror or err}); is its head "
                           "running ('ray start --head') and this machine on its network?") from None


def connect(address: str | None, *, log_dir: Path | None = None, timeout: float = CONNECT_S) -> Lab:
    """Connect this process to the cluster as its driver, Ray's log lines to ``log_dir``; the cluster as now.

    Raises: MissingExtra (no Ray), UsageError (a bad address, no token), EdgekitError (unreachable, a Ray
    version other than the cluster's, or a refused token), each one line."""
    from edgekit.errors import import_extra
    from edgekit.tf_log import quiet_fds

    address = cluster_address(address)
    log_dir = log_dir or Path(tempfile.gettempdir())
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")  # Ray's C++ warnings would land on the progress bar
    with quiet_fds(log_dir / "ray-driver.log"):
        ray = import_extra("ray", needed_for="--cluster")
    if ray.__version__ != RAY_VERSION:
        raise EdgekitError(f"edgekit's [cluster] extra pins ray=={RAY_VERSION}; this machine has ray "
                           f"{ray.__version__}: pip install 'edgekit[cluster]'")
    auth_env()
    here = reachable(address, timeout)
    _quiet_ray(log_dir)
    try:
        with quiet_fds(log_dir / "ray-driver.log"), _own_sigterm():
            ray.init(address=address, log_to_driver=False, logging_level="ERROR", configure_logging=True,
                     include_dashboard=False, _node_ip_address=here)
    except Exception as err:  # Ray's own refusals (version mismatch, token) are one line here
        raise EdgekitError(f"the Ray cluster at {address} refused this driver: {one_line(err)}") from None
    return lab_now(address)


@contextlib.contextmanager
def _own_sigterm():
    """``ray.init`` makes SIGTERM ``sys.exit(15)``; edgekit's own handler (SIGTERM as Ctrl-C: finished rows kept,
    the lab's tasks stopped, exit 143) stays."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    ours = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, ours)


def one_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return " ".join(lines[:3])[:400] or type(err).__name__


def _quiet_ray(log_dir: Path) -> None:
    """Ray's Python log lines to a file instead of the terminal (over the progress display)."""
    import logging

    log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_dir / "ray-driver.log")
    logger = logging.getLogger("ray")
    logger.handlers[:] = [handler]
    logger.propagate = False
    from edgekit.app.ray_private import route_logs

    route_logs(log_dir / "ray-driver.log")


def disconnect() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()


def lab_now(address: str) -> Lab:
    """The nodes and devices Ray knows of now."""
    import ray

    nodes, devices = [], []
    for n in ray.nodes():
        res = n.get("Resources", {})
        nodes.append(Node(n["NodeID"], n.get("NodeManagerAddress", "?"), bool(n.get("Alive")),
                          int(res.get("memory", 0)), float(res.get("CPU", 0)), CONVERT in res))
        for name in res:
            if name.startswith(DEVICE):
                target, _, host = name[len(DEVICE):].partition("/")
                devices.append(Device(target, host, n["NodeID"]))
    return Lab(address, tuple(nodes), tuple(sorted(devices, key=lambda d: (d.target, d.host))))
