"""A real OpenSSH server for the tests: its own sshd on 127.0.0.1 at a free port, a temporary host key, one
authorized client key and its own sshd_config. The client side gets a known_hosts with that host key (host-key
checking stays on) and an ssh config file, passed to edgekit through ``$EDGEKIT_SSH_CONFIG``.

``SshWorld`` is the client side; ``world.server("dev-a")`` starts a server reachable as the alias ``dev-a`` or
as ``127.0.0.1 --port N``. ``server.kill()`` kills sshd and every process under it (a dropped device).
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
SFTP_SERVER = next((p for p in ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server",
                                "/usr/libexec/sftp-server") if os.path.exists(p)), "internal-sftp")


def sshd_missing() -> str | None:
    """Why the SSH tests cannot run here, or None."""
    if not os.path.exists(SSHD):
        return "sshd is not installed (apt-get install openssh-server; .ci/run does)"
    if shutil.which("ssh") is None or shutil.which("scp") is None:
        return "the ssh client is not installed (apt-get install openssh-client)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "edgekit-test", "-f", str(path)],
                   check=True, capture_output=True)
    return path


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


class Sshd:
    """One sshd. With ``chroot`` (a userland such as tests/arm64.py's), it runs inside it: its config, keys, home
    and $TMPDIR are copied under the chroot, and the sessions run the userland's own shell and Python."""

    def __init__(self, root: Path, alias: str, host_key: Path, authorized: Path, chroot: Path | None = None):
        self.root, self.alias, self.port, self.chroot = root, alias, free_port(), chroot
        inside = root if chroot is None else chroot / "etc" / "ssh" / f"edgekit-{alias}-{self.port}"
        inside.mkdir(parents=True, exist_ok=True)
        self.inside = inside
        if chroot is not None:  # what sshd reads lives in the chroot; paths in its config are seen from there
            shutil.copy(host_key, inside / "host_key")
            os.chmod(inside / "host_key", 0o600)
            shutil.copy(authorized, inside / "authorized_keys")
            host_key, authorized = inside / "host_key", inside / "authorized_keys"
        self.config = inside / "sshd_config"
        # sshd -D sets up its privilege separation in /run/sshd when run as root
        if os.geteuid() == 0:
            os.makedirs((chroot or Path("/")) / "run" / "sshd", mode=0o755, exist_ok=True)
        # A fresh home for the sessions, like a new device: the tester's shell startup files (a pyenv init that
        # takes a lock, say) never run in them, and a session killed mid-way leaves nothing behind in the real one.
        self.home = inside / "home"
        self.home.mkdir()
        (inside / "tmp").mkdir()  # and its own $TMPDIR, where edgekit's mktemp -d -t makes the run directory
        seen = self._seen
        self.config.write_text(f"""Port {self.port}
ListenAddress 127.0.0.1
HostKey {seen(host_key)}
AuthorizedKeysFile {seen(authorized)}
PidFile {seen(inside / 'sshd.pid')}
UsePAM no
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers {getpass.getuser()}
MaxStartups 50
SetEnv HOME={seen(self.home)} TMPDIR={seen(inside / "tmp")}
Subsystem sftp {SFTP_SERVER if chroot is None else "/usr/lib/openssh/sftp-server"}
LogLevel ERROR
""")
        self.log = root / "sshd.log"
        argv = [SSHD if chroot is None else "/usr/sbin/sshd", "-D", "-e", "-f", seen(self.config)]
        self.proc = subprocess.Popen(argv if chroot is None else ["chroot", str(chroot), *argv],
                                     stdout=subprocess.DEVNULL, stderr=self.log.open("w"))
        self._wait_listening(10 if chroot is None else 60)  # sshd under qemu starts slowly

    def _seen(self, path: Path) -> str:
        """``path`` as sshd sees it: relative to the chroot's root when there is one."""
        return str(path) if self.chroot is None else "/" + str(path.relative_to(self.chroot))

    def _wait_listening(self, seconds: float = 10) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.proc.returncode}: {self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sshd did not listen on {self.port} within {seconds} s")

    def kill(self) -> None:
        """SIGKILL sshd and every session and command under it, as if the device lost power."""
        victims = [self.proc.pid, *_descendants(self.proc.pid)]
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        if self.chroot is not None:  # the userland is cached: leave nothing of this server in it
            shutil.rmtree(self.inside, ignore_errors=True)


class SshWorld:
    """The client side: one key, one known_hosts, one ssh config naming every server started."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.host_key = keygen(root / "host_ed25519")
        self.client_key = keygen(root / "client_ed25519")
        self.stranger_key = keygen(root / "stranger_ed25519")  # not authorized anywhere
        self.authorized = root / "authorized_keys"
        self.authorized.write_text((root / "client_ed25519.pub").read_text())
        self.known_hosts = root / "known_hosts"
        self.known_hosts.write_text("")
        self.config = root / "ssh_config"
        self.servers: list[Sshd] = []
        self.user = getpass.getuser()
        self._write_config()

    def server(self, alias: str, chroot: Path | None = None) -> Sshd:
        (self.root / alias).mkdir()
        server = Sshd(self.root / alias, alias, self.host_key, self.authorized, chroot=chroot)
        key = (self.root / "host_ed25519.pub").read_text().split()
        with self.known_hosts.open("a") as f:
            f.write(f"[127.0.0.1]:{server.port} {key[0]} {key[1]}\n")
        self.servers.append(server)
        self._write_config()
        return server

    def _write_config(self) -> None:
        blocks = [f"Host {s.alias}\n  HostName 127.0.0.1\n  Port {s.port}\n" for s in self.servers]
        self.config.write_text("".join(blocks) + f"""Host *
  User {self.user}
  IdentityFile {self.client_key}
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile {self.known_hosts}
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
""")

    def plain_config(self, known_hosts: Path | None = None) -> Path:
        """A config with no host aliases and no key (tests pass --port and --identity), and a known_hosts."""
        path = self.root / f"plain_config_{len(list(self.root.glob('plain_config_*')))}"
        path.write_text(f"""Host *
  User {self.user}
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile {known_hosts or self.known_hosts}
  GlobalKnownHostsFile /dev/null
""")
        return path

    def env(self) -> dict[str, str]:
        """What edgekit needs to use this world's ssh config (and no agent of the person running the tests)."""
        return {"EDGEKIT_SSH_CONFIG": str(self.config), "SSH_AUTH_SOCK": ""}

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
