"""The system ``ssh`` and ``scp``: argv lists, never a local shell, with timeouts and errors for people.

edgekit adds only what keeps a benchmark from hanging (``BatchMode=yes``, ``ConnectTimeout=10`` and keep-alives)
and otherwise leaves ``~/.ssh/config``, keys, the agent and known_hosts to ssh. Host-key checking stays on
unless ``insecure`` says so. ``--ssh-config FILE`` (or ``$EDGEKIT_SSH_CONFIG``) is passed as ``ssh -F``.

The remote side runs a shell command line; every word edgekit puts in it goes through ``shlex.quote``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass

from edgekit.errors import EdgekitError, UsageError

CONNECT_TIMEOUT_S = 10
SSH_CONFIG_ENV = "EDGEKIT_SSH_CONFIG"
_USER = r"[A-Za-z0-9._][A-Za-z0-9._-]*"
_NAME = r"[A-Za-z0-9_][A-Za-z0-9._-]*"
_IPV6 = r"\[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]?"
_HOST = re.compile(rf"(?:(?P<user>{_USER})@)?(?P<name>{_NAME}|{_IPV6})")


class SshError(EdgekitError):
    """ssh or scp failed on one host in one phase (connect, copy, run, fetch)."""

    def __init__(self, host: str, phase: str, reason: str):
        super().__init__(f"{host}: {phase} failed: {reason}")
        self.host, self.phase, self.reason = host, phase, reason


@dataclass(frozen=True)
class Host:
    """``[user@]name``, checked so that it can never be read as an option or a shell word."""

    text: str
    user: str | None
    name: str

    @property
    def ssh(self) -> str:
        return self.text if self.user is None else f"{self.user}@{self.name}"

    @property
    def scp(self) -> str:
        name = f"[{self.name}]" if ":" in self.name else self.name
        return name if self.user is None else f"{self.user}@{name}"


def parse_host(text: str) -> Host:
    """Check a ``--host`` value: ``[user@]host``, an IP address, or an alias from the ssh config."""
    m = _HOST.fullmatch(text.strip())
    if not m:
        raise UsageError(f"--host {text!r} is not a host: use [user@]host with letters, digits, '.', '-' and '_' "
                         "(or an IP address, or a Host alias from your ssh config)")
    return Host(text.strip(), m["user"], m["name"].strip("[]"))


@dataclass(frozen=True)
class SshOptions:
    """How to reach the hosts. ``None`` leaves the choice to ssh and its config."""

    port: int | None = None
    identity: str | None = None
    config: str | None = None
    insecure_no_host_key_check: bool = False

    def __post_init__(self):
        if self.port is not None and not 0 < self.port < 65536:
            raise UsageError(f"--port must be 1 to 65535, got {self.port}")
        for flag, path in (("--identity", self.identity), ("--ssh-config", self.config)):
            if path is not None and not os.path.isfile(os.path.expanduser(path)):
                raise UsageError(f"{flag} {path!r} is not a file")

    @classmethod
    def from_env(cls, **kwargs) -> SshOptions:
        """Options with ``config`` defaulting to ``$EDGEKIT_SSH_CONFIG``."""
        if kwargs.get("config") is None:
            kwargs["config"] = os.environ.get(SSH_CONFIG_ENV) or None
        return cls(**kwargs)

    def common(self) -> list[str]:
        """Options ssh and scp share (the port flag differs: ``-p`` and ``-P``)."""
        out = ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_TIMEOUT_S}",
               "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"]
        if self.config:
            out += ["-F", os.path.expanduser(self.config)]
        if self.identity:
            out += ["-i", os.path.expanduser(self.identity)]
        if self.insecure_no_host_key_check:
            out += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
        return out


def ssh_argv(host: Host, command: str, opts: SshOptions) -> list[str]:
    """``ssh ... -- host command``: ``command`` is one remote shell line the caller has quoted."""
    port = ["-p", str(opts.port)] if opts.port else []
    return ["ssh", *opts.common(), *port, "-T", "--", host.ssh, command]


def scp_put_argv(host: Host, sources: list[str], remote_dir: str, opts: SshOptions) -> list[str]:
    port = ["-P", str(opts.port)] if opts.port else []
    return ["scp", "-q", *opts.common(), *port, "--", *sources, f"{host.scp}:{remote_dir}/"]


def scp_get_argv(host: Host, remote_path: str, local_path: str, opts: SshOptions) -> list[str]:
    port = ["-P", str(opts.port)] if opts.port else []
    return ["scp", "-q", *opts.common(), *port, "--", f"{host.scp}:{remote_path}", local_path]


def shell_word(word: str) -> str:
    """``shlex.quote``, except that a leading ``~/`` still means the remote home directory."""
    if word.startswith("~/"):
        return '"$HOME"/' + shlex.quote(word[2:])
    return shlex.quote(word)


def shell_line(*words: str) -> str:
    return " ".join(shell_word(w) for w in words)


# ssh's own messages (exit 255) -> what happened and what to do
_REASONS = (
    (("Connection refused", "Connection timed out", "No route to host", "Network is unreachable",
      "Could not resolve hostname", "Name or service not known", "Operation timed out"),
     "cannot connect ({line}); check the host name, the port and that sshd runs there"),
    (("Permission denied", "Too many authentication failures"),
     "authentication failed ({line}); add your key on the device (ssh-copy-id HOST) or pass --identity KEY"),
    (("Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED", "No ED25519 host key",
      "No RSA host key", "No ECDSA host key"),
     "the host key is not known or has changed ({line}); connect once with 'ssh HOST' to check and accept it, "
     "or pass --insecure-no-host-key-check"),
    (("Connection closed", "Connection reset", "Broken pipe", "Timeout, server", "lost connection",
      "closed by remote host"),
     "the connection dropped ({line})"),
)


def explain(stderr: str, program: str = "ssh", status: int = 255) -> str:
    """One line from ssh's or scp's stderr, turned into a reason with its fix."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not ln.startswith("Warning: Permanently")]
    for needles, reason in _REASONS:
        for line in lines:
            if any(n in line for n in needles):
                return reason.format(line=line.rstrip("."))
    return f"{program} exited with status {status} ({lines[-1] if lines else 'no message'})"


def run(argv: list[str], *, host: str, phase: str, timeout: float, stdin: str | None = None
        ) -> subprocess.CompletedProcess:
    """Run ssh or scp; its own failures (255, or any scp failure) and timeouts raise SshError."""
    try:
        proc = subprocess.run(argv, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SshError(host, phase, f"no answer within {timeout:g} s (raise --timeout, or check the device)") \
            from None
    except FileNotFoundError:
        raise EdgekitError(f"the {argv[0]} client is not installed; install OpenSSH "
                           "(apt-get install openssh-client)") from None
    if proc.returncode == 255 or (argv[0] == "scp" and proc.returncode != 0):
        raise SshError(host, phase, explain(proc.stderr, argv[0], proc.returncode))
    return proc
