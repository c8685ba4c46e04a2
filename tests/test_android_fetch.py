"""``edgekit android fetch`` against a local HTTP server on 127.0.0.1 serving a fake binary (the URL base is
overridden by the test-only environment variable): an unknown version and a wrong checksum are refused in one
line and install nothing; a checksum in the table (monkeypatched here: the package's table is empty) installs
the file atomically, where ``edgekit bench --serial`` then finds it."""

from __future__ import annotations

import hashlib
import http.server
import threading

import pytest

from edgekit.app import android_fetch
from tests.conftest import assert_one_line_error, run_cli

# The first 20 bytes of an arm64 ELF executable (e_machine 183 = EM_AARCH64), then filler: not a program.
FAKE = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00\xb7\x00" + b"edgekit fake benchmark_model" * 100


@pytest.fixture
def server(monkeypatch, tmp_path):
    """Serves FAKE at /<version>/android_arm64/benchmark_model; counts the requests."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            if self.path.endswith("/android_arm64/benchmark_model") and "/9.9.9/" not in self.path:
                self.send_response(200)
                self.send_header("Content-Length", str(len(FAKE)))
                self.end_headers()
                self.wfile.write(FAKE)
            else:
                self.send_error(404)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv(android_fetch.TEST_URL_ENV, f"http://127.0.0.1:{httpd.server_address[1]}")
    monkeypatch.setenv("EDGEKIT_HOME", str(tmp_path / "home"))
    yield hits
    httpd.shutdown()
    httpd.server_close()


def test_a_version_without_a_verified_checksum_downloads_nothing(server):
    line = assert_one_line_error(run_cli("android", "fetch", "--version", "2.3.0"), 2)
    assert "no verified sha256 for LiteRT 2.3.0" in line and "--benchmark-binary PATH" in line
    assert server == []  # refused before any request


def test_a_wrong_checksum_is_refused_and_nothing_is_installed(server, monkeypatch, tmp_path):
    monkeypatch.setitem(android_fetch.SHA256, "2.3.0", "0" * 64)
    line = assert_one_line_error(run_cli("android", "fetch", "--version", "2.3.0"), 1)
    assert f"sha256 {hashlib.sha256(FAKE).hexdigest()}, not the verified {'0' * 64}" in line
    assert "not installed" in line and len(server) == 1
    assert not (tmp_path / "home" / "android").exists()


def test_a_matching_checksum_installs_it_atomically_where_bench_finds_it(server, monkeypatch, tmp_path):
    from edgekit.app.android import phone_binary

    monkeypatch.setitem(android_fetch.SHA256, "2.3.0", hashlib.sha256(FAKE).hexdigest())
    run = run_cli("android", "fetch", "--version", "2.3.0")
    assert run.code == 0, run
    folder = tmp_path / "home" / "android" / "2.3.0"
    assert [p.name for p in folder.iterdir()] == ["benchmark_model"]  # no temporary left beside it
    installed = folder / "benchmark_model"
    assert installed.read_bytes() == FAKE and installed.stat().st_mode & 0o777 == 0o755
    assert "downloaded and installed" in run.err and "2.3.0" in run.err
    again = run_cli("android", "fetch", "--version", "2.3.0")
    assert again.code == 0 and "already installed" in again.err and len(server) == 1  # not downloaded twice
    monkeypatch.setattr(android_fetch, "host_version", lambda: "2.3.0")
    assert phone_binary(None) == installed


def test_a_missing_file_and_an_occupied_output_are_one_line(server, monkeypatch, tmp_path):
    monkeypatch.setitem(android_fetch.SHA256, "9.9.9", "1" * 64)
    line = assert_one_line_error(run_cli("android", "fetch", "--version", "9.9.9"), 1)
    assert "HTTP 404" in line
    monkeypatch.setitem(android_fetch.SHA256, "2.3.0", hashlib.sha256(FAKE).hexdigest())
    other = tmp_path / "mine"
    other.write_text("keep me")
    line = assert_one_line_error(run_cli("android", "fetch", "--version", "2.3.0", "-o", str(other)), 2)
    assert "--force" in line and other.read_text() == "keep me"
    assert run_cli("android", "fetch", "--version", "2.3.0", "-o", str(other), "--force").code == 0
    assert other.read_bytes() == FAKE


def test_bench_without_a_binary_points_to_fetch(monkeypatch, tmp_path):
    from edgekit.app.android import phone_binary
    from edgekit.errors import UsageError

    monkeypatch.setenv("EDGEKIT_HOME", str(tmp_path))
    with pytest.raises(UsageError, match="edgekit android fetch"):
        phone_binary(None)
