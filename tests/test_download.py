"""sr_keras.download, offline: the bytes of a real photo file served by a loopback HTTP server."""
import hashlib
import http.server
import os
import pathlib
import threading

import pytest

from sr_keras import download as dl
from sr_keras import progress


@pytest.fixture(scope="module")
def photo():
    """(name, bytes, sha256) of scikit-image's chelsea.png (240 kB), served as a file to download."""
    import skimage

    path = pathlib.Path(skimage.__file__).parent / "data" / "chelsea.png"
    payload = path.read_bytes()
    return path.name, payload, hashlib.sha256(payload).hexdigest()


class _Server:
    """A loopback HTTP/1.0 server of {"/name": bytes} that records the headers of every request.

    Modes: "range" honours `Range: bytes=N-` (206 with Content-Range); "ignore_range" always sends the whole
    file with 200; "cut_first" answers the first request with the full Content-Length but only `cut` bytes of
    the body, then closes the connection; "busy_first" answers the first request with 503; "refuse_range"
    answers every Range request with 416; "no_length" sends no Content-Length (the body ends when the
    connection closes). Unknown paths get 404.
    """

    def __init__(self, files, mode="range", cut=None):
        self.files, self.mode, self.cut, self.requests = files, mode, cut, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(dict(self.headers))
                first = len(server.requests) == 1
                payload = server.files.get(self.path)
                if payload is None:
                    self.send_error(404)
                    return
                if server.mode == "busy_first" and first:
                    self.send_error(503)
                    return
                ranged = self.headers.get("Range")
                if ranged and server.mode == "refuse_range":
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(payload)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = int(ranged[len("bytes="):].split("-")[0]) if ranged and server.mode != "ignore_range" else 0
                body = payload[start:]
                self.send_response(206 if start else 200)
                if server.mode != "no_length":
                    self.send_header("Content-Length", str(len(body)))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}")
                self.end_headers()
                self.wfile.write(body[: server.cut] if server.mode == "cut_first" and first else body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.closed = False

    def url(self, name):
        return f"{self.base}/{name}"

    def close(self):
        if not self.closed:
            self.closed = True
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(5)


@pytest.fixture
def serve(photo):
    servers = []

    def start(mode="range", cut=None):
        name, payload, _ = photo
        servers.append(_Server({f"/{name}": payload}, mode, cut))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _part(dest):
    return pathlib.Path(str(dest) + ".part")


def test_fresh_download_with_a_sha256_prefix(photo, serve, tmp_path, capsys):
    name, payload, sha256 = photo
    server = serve()
    dest = tmp_path / "cache" / f"chelsea-{sha256[:8]}.png"
    old = os.umask(0o022)
    try:
        result = dl.download(server.url(name), dest, sha256=sha256[:8].upper(), progress=False, timeout=5)
    finally:
        os.umask(old)
    assert result == str(dest)
    assert dest.read_bytes() == payload
    assert not _part(dest).exists()
    assert dest.stat().st_mode & 0o777 == 0o644
    assert "Range" not in server.requests[0] and len(server.requests) == 1
    assert capsys.readouterr().err == ""  # progress=False and nothing went wrong: silent


def test_cache_hit_makes_no_request(photo, serve, tmp_path):
    name, payload, sha256 = photo
    server = serve()
    dest = tmp_path / name
    dl.download(server.url(name), dest, size=len(payload), sha256=sha256, progress=False, timeout=5)
    server.close()
    assert dl.download(server.url(name), dest, size=len(payload), sha256=sha256, retries=0, progress=False,
                       timeout=5) == str(dest)
    assert len(server.requests) == 1 and dest.read_bytes() == payload
    # Without a checksum an existing file is simply kept.
    assert dl.download(server.url(name), dest, retries=0, progress=False, timeout=5) == str(dest)


def test_resumes_after_a_cut_connection(photo, serve, tmp_path, capsys):
    name, payload, sha256 = photo
    cut = len(payload) // 3
    server = serve("cut_first", cut=cut)
    dest = tmp_path / name
    dl.download(server.url(name), dest, sha256=sha256, retries=1, backoff=0, progress=False, timeout=5)
    assert dest.read_bytes() == payload and not _part(dest).exists()
    assert len(server.requests) == 2
    assert "Range" not in server.requests[0] and server.requests[1]["Range"] == f"bytes={cut}-"
    err = capsys.readouterr().err
    assert f"connection closed at byte {cut} of {len(payload)}" in err and "retry 1/1" in err


def test_resumes_a_part_file_left_by_an_earlier_run(photo, serve, tmp_path, capsys):
    name, payload, sha256 = photo
    server = serve()
    dest = tmp_path / name
    kept = 100_000
    _part(dest).write_bytes(payload[:kept])
    dl.download(server.url(name), dest, sha256=sha256, progress=True, timeout=5)  # size from Content-Range
    assert dest.read_bytes() == payload and not _part(dest).exists()
    assert [r.get("Range") for r in server.requests] == [f"bytes={kept}-"]
    err = capsys.readouterr().err
    assert "resuming at 0.1 MB" in err and "(100%)" in err and f"sha256 {sha256[:12]}... verified" in err
    assert all(line.count("\r") == 0 for line in err.splitlines())  # stderr is not a terminal here


def test_checksum_mismatch_leaves_nothing(photo, serve, tmp_path):
    name, _, sha256 = photo
    server = serve()
    dest = tmp_path / name
    wrong = "0" * 64
    with pytest.raises(dl.ChecksumError) as error:
        dl.download(server.url(name), dest, sha256=wrong, progress=False, timeout=5)
    message = str(error.value)
    assert message.startswith(f"{name}: sha256 mismatch: expected {wrong}, got {sha256}")
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []  # neither dest nor the part file
    with pytest.raises(dl.ChecksumError, match=rf"expected ffffffff\.\.\. \(a prefix\), got {sha256}"):
        dl.download(server.url(name), dest, sha256="ffffffff", progress=False, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_server_ignoring_range_restarts(photo, serve, tmp_path, capsys):
    name, payload, sha256 = photo
    server = serve("ignore_range")
    dest = tmp_path / name
    _part(dest).write_bytes(b"\0" * 5000)  # not the file's bytes: appending to them would fail the checksum
    dl.download(server.url(name), dest, size=len(payload), sha256=sha256, progress=False, timeout=5)
    assert dest.read_bytes() == payload
    assert server.requests[0]["Range"] == "bytes=5000-" and len(server.requests) == 1
    assert "ignored the resume request; starting again" in capsys.readouterr().err


def test_server_refusing_range_restarts(photo, serve, tmp_path):
    name, payload, sha256 = photo
    server = serve("refuse_range")
    dest = tmp_path / name
    _part(dest).write_bytes(b"\0" * 5000)
    dl.download(server.url(name), dest, sha256=sha256, progress=False, timeout=5)
    assert dest.read_bytes() == payload
    assert [r.get("Range") for r in server.requests] == ["bytes=5000-", None]


def test_server_error_is_retried(photo, serve, tmp_path):
    name, payload, sha256 = photo
    server = serve("busy_first")
    dest = tmp_path / name
    dl.download(server.url(name), dest, sha256=sha256, retries=1, backoff=0, progress=False, timeout=5)
    assert dest.read_bytes() == payload and len(server.requests) == 2


def test_unknown_length_ends_when_the_server_closes(photo, serve, tmp_path):
    name, payload, _ = photo
    server = serve("no_length")
    dest = tmp_path / name
    dl.download(server.url(name), dest, progress=False, timeout=5)  # neither size nor sha256
    assert dest.read_bytes() == payload and not _part(dest).exists()


def test_http_404_names_the_url(serve, tmp_path):
    server = serve()
    url = server.url("missing.png")
    with pytest.raises(dl.DownloadError) as error:
        dl.download(url, tmp_path / "missing.png", backoff=0, progress=False, timeout=5)
    assert url in str(error.value) and "404" in str(error.value) and error.value.status == 404
    assert len(server.requests) == 1  # not retried
    assert list(tmp_path.iterdir()) == []


def test_unreachable_server_keeps_the_part_file(photo, serve, tmp_path):
    name, payload, sha256 = photo
    server = serve()
    server.close()
    dest = tmp_path / name
    _part(dest).write_bytes(payload[:1234])
    with pytest.raises(dl.DownloadError) as error:
        dl.download(server.url(name), dest, sha256=sha256, retries=1, backoff=0, progress=False, timeout=5)
    message = str(error.value)
    assert "after 2 attempt(s)" in message and f"1234 bytes kept in {_part(dest)}, rerun to resume" in message
    assert "\n" not in message and _part(dest).read_bytes() == payload[:1234] and not dest.exists()


class _Clock:
    """A stand-in for the `time` module: monotonic() advances `step` seconds a call."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def monotonic(self):
        self.now += self.step
        return self.now


@pytest.mark.parametrize("step, most", [(0.05, 9), (0.01, 1)])
def test_progress_lines_are_rare_when_not_a_terminal(photo, serve, tmp_path, monkeypatch, capsys, step, most):
    """A line per 10% at most, a line per second at most, none in the first 2 seconds; then the final line."""
    name, payload, sha256 = photo
    server = serve()
    monkeypatch.setattr(progress, "time", _Clock(step))  # 241 reads of 1000 bytes: 12 s, then 2.4 s
    dl.download(server.url(name), tmp_path / name, sha256=sha256, chunk_size=1000, progress=True, timeout=5)
    lines = [line for line in capsys.readouterr().err.splitlines() if "MB/s" in line]
    percents = [int(line.split("(")[1].split("%")[0]) for line in lines]
    assert percents[-1] == 100 and "ETA 0s" in lines[-1]
    during = percents[:-1]
    assert 1 <= len(during) <= most, lines
    assert (during[0] + 1) / 100 * len(payload) >= (2.0 / step - 2) * 1000  # nothing before 2 s
    assert len({p // 10 for p in during}) == len(during)  # one line per 10% at most


def test_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SR_KERAS_CACHE", str(tmp_path / "cache"))
    assert dl.cache_dir() == str(tmp_path / "cache") and (tmp_path / "cache").is_dir()
    assert dl.cache_dir("checkpoints") == str(tmp_path / "cache" / "checkpoints")
    assert (tmp_path / "cache" / "checkpoints").is_dir()
    monkeypatch.delenv("SR_KERAS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert dl.cache_dir() == str(tmp_path / "xdg" / "sr_keras")
    blocker = tmp_path / "file"
    blocker.write_text("a regular file, not a folder")
    monkeypatch.setenv("SR_KERAS_CACHE", str(blocker / "cache"))
    with pytest.raises(PermissionError) as error:
        dl.cache_dir("checkpoints")
    message = str(error.value)
    assert str(blocker / "cache" / "checkpoints") in message and "SR_KERAS_CACHE" in message
    assert "\n" not in message


def test_verify_file_and_arguments(photo, tmp_path):
    name, payload, sha256 = photo
    path = tmp_path / name
    path.write_bytes(payload)
    assert dl.file_sha256(path) == sha256
    assert dl.verify_file(path, len(payload), sha256[:8]) == str(path)
    with pytest.raises(dl.ChecksumError, match=f"{name}: size mismatch: expected {len(payload) + 1} bytes"):
        dl.verify_file(path, size=len(payload) + 1)
    with pytest.raises(ValueError, match="hex digits"):
        dl.download("http://127.0.0.1:9/x", tmp_path / "x", sha256="not-hex")
    assert not (tmp_path / "x.part").exists()
