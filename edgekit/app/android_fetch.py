"""``edgekit android fetch``: download LiteRT's android_arm64 ``benchmark_model`` of the version that matches this
machine's ai-edge-litert, only when the user runs it, and install it once its sha256 matches :data:`SHA256`.

Google publishes the binary per LiteRT version at ``storage.googleapis.com/litert/binaries/<version>/android_arm64/
benchmark_model`` (the path LiteRT's own ``litert-cli`` downloads from). Nothing else in edgekit downloads it:
``edgekit bench --serial`` uses the installed copy, or ``--benchmark-binary PATH``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import NamedTuple

from edgekit.errors import EdgekitError, UsageError

BASE_URL = "https://storage.googleapis.com/litert/binaries"
# For tests only: a local server in place of Google's bucket (tests/test_android_fetch.py). Not for users: the
# checksum table below is what makes a download trusted, whatever the server.
TEST_URL_ENV = "EDGEKIT_TEST_LITERT_BINARIES_URL"
MAX_BYTES = 256 << 20  # the 2.2.0 binary is about 8 MB; a response past this is not it

# Verified sha256 of LiteRT's android_arm64 benchmark_model, per LiteRT version. Empty: Google publishes no
# checksum for these files and none could be verified from a trusted source when this was written, so every
# version is refused (one line, pointing to --benchmark-binary) rather than an unverified binary installed. A
# maintainer who has verified a download adds its line here: "2.3.0": "<64 hex digits>".
SHA256: dict[str, str] = {}


class Fetched(NamedTuple):
    version: str
    path: Path
    sha256: str
    downloaded: bool  # False: the file was already there with the right checksum


def host_version() -> str:
    """The installed ai-edge-litert's version, whose benchmark_model matches the runtime edgekit uses here."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ai-edge-litert")
    except PackageNotFoundError:
        raise UsageError("ai-edge-litert is not installed, so there is no version to match; pass --version X.Y.Z, "
                         "or --benchmark-binary PATH to edgekit bench") from None


def default_path(version: str) -> Path:
    """Where a fetched binary lives: ``$EDGEKIT_HOME/android/<version>/benchmark_model``."""
    from targets.userfile import edgekit_home

    return edgekit_home() / "android" / version / "benchmark_model"


def expected_sha256(version: str) -> str:
    """The verified checksum of ``version``'s binary; a version without one is refused in one line."""
    digest = SHA256.get(version)
    if not digest:
        known = ", ".join(sorted(SHA256)) or "none yet"
        raise UsageError(f"no verified sha256 for LiteRT {version}'s android_arm64 benchmark_model in edgekit's "
                         f"table (verified: {known}), so nothing is downloaded; download or build it yourself and "
                         "pass --benchmark-binary PATH (docs/android.md)")
    return digest


def fetch(version: str | None = None, output: Path | None = None, *, force: bool = False) -> Fetched:
    """Download, check and install the binary (atomically: a partial or wrong download never lands at ``output``).

    Raises:
        UsageError: no verified checksum for the version; ``output`` exists and is another file, without ``force``.
        EdgekitError: the download failed, or its sha256 is not the table's (the file is then not installed).
    """
    version = version or host_version()
    want = expected_sha256(version)
    path = Path(output).expanduser() if output is not None else default_path(version)
    if path.is_file() and _sha256(path) == want:
        return Fetched(version, path, want, False)
    if path.exists() and output is not None and not force:
        raise UsageError(f"-o {str(path)!r} already exists and is not LiteRT {version}'s benchmark_model; pass "
                         "--force to replace it")
    url = f"{os.environ.get(TEST_URL_ENV) or BASE_URL}/{version}/android_arm64/benchmark_model"
    data = _download(url)
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        raise EdgekitError(f"the download from {url} has sha256 {got}, not the verified {want}; it was not "
                           "installed (try again later, or pass --benchmark-binary PATH)")
    from edgekit.atomic import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data, force=True)
    path.chmod(0o755)
    return Fetched(version, path, want, True)


def _download(url: str) -> bytes:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as err:
        raise EdgekitError(f"could not download {url}: HTTP {err.code} {err.reason}; check the version "
                           "(--version), or pass --benchmark-binary PATH") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", None) or err
        raise EdgekitError(f"could not download {url}: {reason}; check the network, or pass --benchmark-binary "
                           "PATH") from None
    if len(data) > MAX_BYTES:
        raise EdgekitError(f"{url} is larger than {MAX_BYTES >> 20} MB, which benchmark_model is not; not installed")
    return data


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def installed(version: str | None = None) -> Path | None:
    """The fetched binary for this machine's LiteRT version, if ``edgekit android fetch`` installed it."""
    try:
        path = default_path(version or host_version())
    except UsageError:
        return None
    return path if path.is_file() else None
