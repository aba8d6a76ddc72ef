"""tools/download_div2k.py, offline: tiny zips of real photo crops served by file:// URLs or a loopback HTTP server."""
import hashlib
import http.server
import importlib.util
import io
import pathlib
import threading
import zipfile

import numpy as np
import pytest
from PIL import Image

TOOL = pathlib.Path(__file__).resolve().parents[1] / "tools" / "download_div2k.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("download_div2k", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _png(photo, index, size=12):
    crop = np.ascontiguousarray(photo[index * 40: index * 40 + size, index * 30: index * 30 + size])
    buffer = io.BytesIO()
    Image.fromarray(crop).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def crops():
    from skimage import data

    photos = [data.astronaut(), data.coffee(), data.chelsea()]
    return [_png(photo, i) for i, photo in enumerate(photos)]


def _zip(path, members):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, payload in members.items():
            zf.writestr(name, payload)
    payload = path.read_bytes()
    return len(payload), hashlib.sha256(payload).hexdigest()


@pytest.fixture
def x8_zip(tmp_path, crops):
    """A miniature DIV2K_valid_LR_x8.zip: (path, size, sha256) holding 0801x8.png ... 0803x8.png."""
    source = tmp_path / "server"
    source.mkdir()
    path = source / "DIV2K_valid_LR_x8.zip"
    members = {f"DIV2K_valid_LR_x8/{801 + i:04d}x8.png": crop for i, crop in enumerate(crops)}
    size, sha256 = _zip(path, members)
    return path, size, sha256


class _Server:
    """A loopback HTTP server for one payload with Range support; `mode` "ignore_range" or "drop_once"."""

    def __init__(self, payload, mode="range"):
        self.payload, self.mode, self.requests = payload, mode, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(dict(self.headers))
                body, status, start = server.payload, 200, 0
                ranged = self.headers.get("Range")
                if ranged and server.mode != "ignore_range":
                    start = int(ranged.split("=")[1].split("-")[0])
                    body, status = body[start:], 206
                drop = server.mode == "drop_once" and len(server.requests) == 1
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(server.payload) - 1}/{len(server.payload)}")
                self.end_headers()
                self.wfile.write(body[: len(body) // 3] if drop else body)
                if drop:
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.timeout = 5
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/DIV2K_valid_LR_x8.zip"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def serve():
    servers = []

    def start(payload, mode="range"):
        servers.append(_Server(payload, mode))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


# ---------------------------------------------------------------------------------------------- archives_for


def test_archives_for_names(tool):
    names = [a.name for a in tool.archives_for(["valid"], ["bicubic"], [4], hr=True)]
    assert names == ["DIV2K_valid_HR.zip", "DIV2K_valid_LR_bicubic_X4.zip"]
    names = [a.name for a in tool.archives_for(["train", "valid"], ["unknown", "x8", "mild", "difficult"],
                                                None, hr=False)]
    assert names == [f"DIV2K_{s}_LR_{t}.zip" for s in ("train", "valid")
                     for t in ("unknown_X2", "unknown_X3", "unknown_X4", "x8", "mild", "difficult")]
    both = tool.archives_for(["train"], ["bicubic", "x8"], [4, 8], hr=False)
    assert [(a.name, a.folder, a.suffix) for a in both] == [
        ("DIV2K_train_LR_bicubic_X4.zip", "DIV2K_train_LR_bicubic/X4", "x4"),
        ("DIV2K_train_LR_x8.zip", "DIV2K_train_LR_x8", "x8")]
    assert len(tool.archives_for(tool.SPLITS, tool.TRACK_SCALES, None, True)) == len(tool.ARCHIVES) == 20
    hr = tool.archives_for(["train"], [], None, hr=True)[0]
    assert (hr.folder, hr.size, hr.url()) == ("DIV2K_train_HR", 3530603713,
                                              "https://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_train_HR.zip")


@pytest.mark.parametrize("tracks, scales, words", [
    (["x8"], [4], ["'x8'", "8"]), (["mild"], [2], ["'mild'", "4"]), (["bicubic"], [8], ["'bicubic'"]),
    (["bicubic"], [2, 8], ["scale 8"]), (["sharp"], None, ["unknown track 'sharp'"])])
def test_archives_for_rejects(tool, tracks, scales, words):
    with pytest.raises(tool.UsageError) as error:
        tool.archives_for(["train"], tracks, scales, True)
    assert all(word in str(error.value) for word in words), str(error.value)


def test_layout_matches_sr_keras(tool):
    """The tool's folders and file suffixes are those sr_keras.data.div2k reads."""
    import importlib
    import os

    reader = importlib.import_module("sr_keras.data.div2k")

    for archive in tool.archives_for(tool.SPLITS, tool.TRACK_SCALES, None, hr=False):
        assert reader.div2k_lr_dir("r", archive.split, archive.track, archive.scale) == os.path.join(
            "r", archive.folder)
        assert reader.TRACKS[archive.track][2].format(scale=archive.scale) == archive.suffix


# -------------------------------------------------------------------------------------------------- download


def test_download_file_url(tool, tmp_path, x8_zip):
    path, size, sha256 = x8_zip
    dest = tmp_path / "root" / "archives" / path.name
    assert tool.download(path.as_uri(), dest, size, sha256, progress=False) == str(dest)
    assert dest.read_bytes() == path.read_bytes()
    assert not pathlib.Path(str(dest) + ".part").exists()
    path.unlink()  # a verified archive is not downloaded again
    assert tool.download(path.as_uri(), dest, size, sha256, progress=False) == str(dest)


def test_download_resumes_with_range(tool, tmp_path, x8_zip, serve, capsys):
    path, size, sha256 = x8_zip
    payload = path.read_bytes()
    server = serve(payload)
    dest = tmp_path / "archives" / path.name
    dest.parent.mkdir()
    pathlib.Path(str(dest) + ".part").write_bytes(payload[: size // 2])
    tool.download(server.url, dest, size, sha256, progress=True, chunk_size=512)
    assert dest.read_bytes() == payload
    assert server.requests[0]["Range"] == f"bytes={size // 2}-"
    err = capsys.readouterr().err
    assert "resuming" in err and "MB/s" in err and "ETA" in err


def test_download_restarts_when_range_ignored(tool, tmp_path, x8_zip, serve):
    path, size, sha256 = x8_zip
    payload = path.read_bytes()
    server = serve(payload, mode="ignore_range")
    dest = tmp_path / path.name
    pathlib.Path(str(dest) + ".part").write_bytes(payload[:100])
    tool.download(server.url, dest, size, sha256, progress=False)
    assert dest.read_bytes() == payload


def test_download_retries_after_dropped_connection(tool, tmp_path, x8_zip, serve):
    path, size, sha256 = x8_zip
    server = serve(path.read_bytes(), mode="drop_once")
    dest = tmp_path / path.name
    tool.download(server.url, dest, size, sha256, progress=False, retries=1, backoff=0, timeout=5)
    assert dest.read_bytes() == path.read_bytes()
    assert len(server.requests) == 2 and server.requests[1]["Range"].startswith("bytes=")


def test_download_checksum_mismatch(tool, tmp_path, x8_zip):
    path, size, _ = x8_zip
    dest = tmp_path / path.name
    with pytest.raises(tool.ChecksumError) as error:
        tool.download(path.as_uri(), dest, size, "0" * 64, progress=False)
    message = str(error.value)
    assert path.name in message and "0" * 64 in message
    assert hashlib.sha256(path.read_bytes()).hexdigest() in message
    assert not dest.exists() and not pathlib.Path(str(dest) + ".part").exists()


def test_download_wrong_size_and_missing_file(tool, tmp_path, x8_zip):
    path, size, sha256 = x8_zip
    with pytest.raises(tool.DownloadError, match="expected"):
        tool.download(path.as_uri(), tmp_path / path.name, size + 1, sha256, progress=False)
    assert not (tmp_path / path.name).exists()
    with pytest.raises(tool.DownloadError, match="missing.zip"):
        tool.download((tmp_path / "missing.zip").as_uri(), tmp_path / "missing.zip", 1, sha256, progress=False,
                      retries=0)


def test_verify_file(tool, x8_zip):
    path, size, sha256 = x8_zip
    assert tool.verify_file(path, size, sha256) == str(path)
    with pytest.raises(tool.ChecksumError, match="size"):
        tool.verify_file(path, size - 1, sha256)


# --------------------------------------------------------------------------------------------------- extract


def test_extract(tool, tmp_path, x8_zip):
    path, _, _ = x8_zip
    root = tmp_path / "root"
    root.mkdir()
    final = tool.extract(path, root, "DIV2K_valid_LR_x8", 3)
    assert sorted(p.name for p in pathlib.Path(final).iterdir()) == ["0801x8.png", "0802x8.png", "0803x8.png"]
    assert Image.open(pathlib.Path(final) / "0802x8.png").size == (12, 12)
    assert [p.name for p in root.iterdir()] == ["DIV2K_valid_LR_x8"]  # no temporary folder left
    path.unlink()  # a complete folder is not extracted again
    assert tool.extract(path, root, "DIV2K_valid_LR_x8", 3) == final


@pytest.mark.parametrize("evil", ["../evil.png", "DIV2K_valid_LR_x8/../../evil.png", "/tmp/evil.png"])
def test_extract_rejects_unsafe_members(tool, tmp_path, crops, evil):
    archive = tmp_path / "evil.zip"
    _zip(archive, {"DIV2K_valid_LR_x8/0801x8.png": crops[0], evil: crops[1]})
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(tool.ExtractError, match="unsafe"):
        tool.extract(archive, root, "DIV2K_valid_LR_x8", 1)
    assert list(root.iterdir()) == [] and not (tmp_path / "evil.png").exists()


def test_extract_corrupt_zip_leaves_nothing(tool, tmp_path, x8_zip, crops):
    path, _, _ = x8_zip
    root = tmp_path / "root"
    root.mkdir()
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(tool.ExtractError, match="corrupt"):
        tool.extract(truncated, root, "DIV2K_valid_LR_x8", 3)
    # A bad CRC in the last member: the first two are already written when extraction fails.
    payload = bytearray(path.read_bytes())
    last = payload.rfind(crops[2])
    assert last > 0
    payload[last + len(crops[2]) // 2] ^= 0xFF
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(payload))
    with pytest.raises(tool.ExtractError, match="corrupt"):
        tool.extract(damaged, root, "DIV2K_valid_LR_x8", 3)
    assert list(root.iterdir()) == []


def test_extract_wrong_count_names_folder(tool, tmp_path, x8_zip):
    path, _, _ = x8_zip
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(tool.ExtractError, match=r"DIV2K_valid_LR_x8: expected 100 images .* found 3"):
        tool.extract(path, root, "DIV2K_valid_LR_x8", 100)
    assert list(root.iterdir()) == []


# ------------------------------------------------------------------------------------------------ check_tree


def _fake_tree(root, crops, counts):
    for split, count in counts.items():
        first = {"train": 1, "valid": 801}[split]
        for folder, suffix in ((f"DIV2K_{split}_HR", ""), (f"DIV2K_{split}_LR_bicubic/X4", "x4")):
            (root / folder).mkdir(parents=True)
            for i in range(count):
                (root / folder / f"{first + i:04d}{suffix}.png").write_bytes(crops[i % len(crops)])


def test_check_tree(tool, tmp_path, crops):
    counts = {"train": 3, "valid": 2}
    _fake_tree(tmp_path, crops, counts)
    assert tool.check_tree(tmp_path, ["train", "valid"], ["bicubic"], [4], True, counts=counts) == []
    (tmp_path / "DIV2K_valid_LR_bicubic" / "X4" / "0802x4.png").unlink()
    (tmp_path / "DIV2K_train_HR" / "0009.png").write_bytes(crops[0])
    problems = tool.check_tree(tmp_path, ["train", "valid"], ["bicubic", "x8"], [4, 8], True, counts=counts)
    assert len(problems) == 4, problems
    assert "DIV2K_train_HR" in problems[0] and "unexpected 1 (e.g. 0009.png)" in problems[0]
    assert "DIV2K_train_LR_x8: missing" in problems[1]
    assert "X4" in problems[2] and "missing 1 (e.g. 0802x4.png)" in problems[2]


# ------------------------------------------------------------------------------------------------------ main


@pytest.mark.parametrize("argv, words", [
    (["--tracks", "sharp"], ["unknown track 'sharp'"]),
    (["--tracks", "x8", "--scales", "4"], ["'x8'", "not 4"]),
    (["--splits", "test"], ["unknown split 'test'"]),
    (["--scales", "two"], ["invalid int value"])])
def test_main_usage_errors(tool, tmp_path, capsys, argv, words):
    assert tool.main(["--root", str(tmp_path)] + argv) == 2
    err = capsys.readouterr().err
    assert all(word in err for word in words), err


def test_main_unwritable_root(tool, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert tool.main(["--root", str(blocker / "div2k"), "--splits", "valid", "--tracks", "x8"]) == 2
    assert "not a writable folder" in capsys.readouterr().err


def test_main_end_to_end(tool, tmp_path, x8_zip, monkeypatch, capsys):
    """The real pipeline against a file:// mirror, with the table and counts patched to the tiny archive."""
    path, size, sha256 = x8_zip
    monkeypatch.setitem(tool.ARCHIVES, path.name, (size, sha256))
    monkeypatch.setitem(tool.COUNTS, "valid", 3)
    root = tmp_path / "div2k"
    argv = ["--root", str(root), "--splits", "valid", "--tracks", "x8", "--no_hr", "--quiet",
            "--base_url", path.parent.as_uri()]
    assert tool.main(argv) == 0
    out = capsys.readouterr().out
    assert f"sr_keras.data.div2k({str(root)!r}, split='valid', track='x8', scale=8)" in out
    assert sorted(p.name for p in (root / "DIV2K_valid_LR_x8").iterdir()) == [
        "0801x8.png", "0802x8.png", "0803x8.png"]
    assert sorted(p.name for p in root.iterdir()) == ["DIV2K_valid_LR_x8"]  # archive deleted
    path.unlink()  # rerun: already complete, no download needed
    assert tool.main(argv) == 0
    assert "already complete" in capsys.readouterr().err
    assert tool.main(argv[:-2] + ["--check_only"]) == 0
    (root / "DIV2K_valid_LR_x8" / "0803x8.png").unlink()
    assert tool.main(argv[:-2] + ["--check_only"]) == 1
    assert "DIV2K_valid_LR_x8: 2 images, expected 3" in capsys.readouterr().err


def test_main_checksum_failure(tool, tmp_path, x8_zip, monkeypatch, capsys):
    path, size, _ = x8_zip
    monkeypatch.setitem(tool.ARCHIVES, path.name, (size, "f" * 64))
    monkeypatch.setitem(tool.COUNTS, "valid", 3)
    root = tmp_path / "div2k"
    code = tool.main(["--root", str(root), "--splits", "valid", "--tracks", "x8", "--no_hr", "--quiet",
                      "--base_url", path.parent.as_uri()])
    err = capsys.readouterr().err
    assert code == 1 and "DIV2K_valid_LR_x8.zip: sha256 mismatch: expected " + "f" * 64 in err
    assert list((root / "archives").iterdir()) == [] and not (root / "DIV2K_valid_LR_x8").exists()
