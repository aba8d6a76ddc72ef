"""The DIV2K downloader (`sr_keras.data.div2k_download` and `python -m sr_keras.download_div2k`), offline: tiny
zips of real photo crops served by file:// URLs or a loopback HTTP server."""
import copy
import hashlib
import http.server
import io
import os
import pathlib
import subprocess
import sys
import threading
import zipfile

import numpy as np
import pytest
from PIL import Image

from sr_keras.cli import download_div2k as cli
from sr_keras.data import div2k_download


@pytest.fixture(scope="module")
def tool():
    return div2k_download


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
    """A loopback HTTP server with Range support; `mode` "ignore_range" or "drop_once".

    `payload` is the bytes served at every path, or {file name: bytes} served at /<file name> (404 otherwise).
    """

    def __init__(self, payload, mode="range"):
        self.payload, self.mode, self.requests = payload, mode, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(dict(self.headers, path=self.path))
                payload = server.payload
                if isinstance(payload, dict):
                    payload = payload.get(self.path.rsplit("/", 1)[-1])
                    if payload is None:
                        self.send_error(404)
                        return
                body, status, start = payload, 200, 0
                ranged = self.headers.get("Range")
                if ranged and server.mode != "ignore_range":
                    start = int(ranged.split("=")[1].split("-")[0])
                    body, status = body[start:], 206
                drop = server.mode == "drop_once" and len(server.requests) == 1
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}")
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
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.url = self.base_url + "DIV2K_valid_LR_x8.zip"

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
    assert len(tool.archives_for(tool.SPLITS, tool.TRACKS, None, True)) == len(tool.ARCHIVES) == 20
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

    for archive in tool.archives_for(tool.SPLITS, tool.TRACKS, None, hr=False):
        assert reader.div2k_lr_dir("r", archive.split, archive.track, archive.scale) == os.path.join(
            "r", archive.folder)
        assert reader.TRACKS[archive.track].suffix.format(scale=archive.scale) == archive.suffix


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


def _main(argv):
    """The command as `python -m sr_keras.download_div2k <argv>` runs it, in this process (its flags are its own
    `FlagValues`, parsed afresh)."""
    cli.FLAGS.unparse_flags()
    cli.FLAGS(["download_div2k", *argv])
    return cli.main(["download_div2k"])


@pytest.mark.parametrize("argv, words", [
    (["--tracks", "sharp"], ["unknown track 'sharp'"]),
    (["--tracks", "x8", "--scales", "4"], ["'x8'", "not 4"]),
    (["--splits", "test"], ["unknown split 'test'"]),
    (["--scales", "two"], ["--scales takes integers"])])
def test_main_usage_errors(tmp_path, capsys, argv, words):
    assert _main(["--root", str(tmp_path)] + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert all(word in err for word in words), err


def test_main_unwritable_root(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert _main(["--root", str(blocker / "div2k"), "--splits", "valid", "--tracks", "x8"]) == 2
    assert "not a writable folder" in capsys.readouterr().err


def test_main_end_to_end(tool, tmp_path, x8_zip, monkeypatch, capsys):
    """The command line against a file:// mirror, with the module's table and counts patched to the tiny archive."""
    path, size, sha256 = x8_zip
    monkeypatch.setitem(tool.ARCHIVES, path.name, (size, sha256))
    monkeypatch.setitem(tool.COUNTS, "valid", 3)
    root = tmp_path / "div2k"
    argv = ["--root", str(root), "--splits", "valid", "--tracks", "x8", "--nohr", "--quiet",
            "--base_url", path.parent.as_uri()]
    assert _main(argv) == 0
    out = capsys.readouterr().out
    assert f"div2k({str(root)!r}, split='valid', track='x8', scale=8)" in out
    assert sorted(p.name for p in (root / "DIV2K_valid_LR_x8").iterdir()) == [
        "0801x8.png", "0802x8.png", "0803x8.png"]
    assert sorted(p.name for p in root.iterdir()) == ["DIV2K_valid_LR_x8"]  # archive deleted
    path.unlink()  # rerun: already complete, no download needed
    assert _main(argv) == 0
    assert "already complete" in capsys.readouterr().err
    assert _main(argv[:-2] + ["--check_only"]) == 0
    (root / "DIV2K_valid_LR_x8" / "0803x8.png").unlink()
    assert _main(argv[:-2] + ["--check_only"]) == 1
    assert "DIV2K_valid_LR_x8: 2 images, expected 3" in capsys.readouterr().err


def test_main_checksum_failure(tool, tmp_path, x8_zip, monkeypatch, capsys):
    path, size, _ = x8_zip
    monkeypatch.setitem(tool.ARCHIVES, path.name, (size, "f" * 64))
    monkeypatch.setitem(tool.COUNTS, "valid", 3)
    root = tmp_path / "div2k"
    code = _main(["--root", str(root), "--splits", "valid", "--tracks", "x8", "--nohr", "--quiet",
                     "--base_url", path.parent.as_uri()])
    err = capsys.readouterr().err
    assert code == 1 and "DIV2K_valid_LR_x8.zip: sha256 mismatch: expected " + "f" * 64 in err
    assert list((root / "archives").iterdir()) == [] and not (root / "DIV2K_valid_LR_x8").exists()


def test_command_usage_error_is_one_line_in_a_real_process(tmp_path):
    result = subprocess.run([sys.executable, "-m", "sr_keras.download_div2k", "--root", str(tmp_path / "div2k"),
                             "--splits=nope"], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                            env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr[-2000:]
    assert lines == ["error: unknown split 'nope' (choose from train, valid)"], \
        result.stderr[-2000:]
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not (tmp_path / "div2k").exists()


# -------------------------------------------------------------------------------------------- download_div2k

MIRROR_COUNTS = {"train": 3, "valid": 2}


@pytest.fixture(scope="module")
def mirror():
    """Miniature DIV2K_{train,valid}_HR.zip and DIV2K_{train,valid}_LR_bicubic_X4.zip of real photo crops (HR
    16x16, LR its 4x4 bicubic reduction), 3 training and 2 validation images: ({name: bytes}, {name: (size,
    sha256)}, {folder/file: PNG bytes})."""
    from skimage import data

    photos = [data.astronaut(), data.coffee(), data.chelsea()]
    payloads, table, files = {}, {}, {}
    for split, first in (("train", 1), ("valid", 801)):
        hr_members, lr_members = {}, {}
        for i in range(MIRROR_COUNTS[split]):
            number = first + i
            photo = photos[(number - 1) % len(photos)]
            crop = np.ascontiguousarray(photo[20 * i: 20 * i + 16, 24 * i: 24 * i + 16])
            image = Image.fromarray(crop)
            for members, folder, name, picture in (
                    (hr_members, f"DIV2K_{split}_HR", f"{number:04d}.png", image),
                    (lr_members, f"DIV2K_{split}_LR_bicubic/X4", f"{number:04d}x4.png",
                     image.resize((4, 4), Image.BICUBIC))):
                buffer = io.BytesIO()
                picture.save(buffer, format="PNG")
                members[f"{folder}/{name}"] = files[f"{folder}/{name}"] = buffer.getvalue()
        for name, members in ((f"DIV2K_{split}_HR.zip", hr_members),
                              (f"DIV2K_{split}_LR_bicubic_X4.zip", lr_members)):
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for member, payload in members.items():
                    zf.writestr(member, payload)
            payloads[name] = buffer.getvalue()
            table[name] = (len(payloads[name]), hashlib.sha256(payloads[name]).hexdigest())
    return payloads, table, files


def test_download_div2k_from_a_loopback_mirror(tool, tmp_path, mirror, serve, capsys):
    payloads, table, files = mirror
    server = serve(payloads)
    official = copy.deepcopy((tool.ARCHIVES, tool.COUNTS))
    root = tmp_path / "div2k"
    options = dict(splits=["train", "valid"], tracks=["bicubic"], scales=[4], base_url=server.base_url,
                   progress=False, archives=table, counts=MIRROR_COUNTS)
    assert tool.download_div2k(root, **options) == str(root)
    assert sorted(r["path"] for r in server.requests) == sorted(f"/{name}" for name in payloads)
    assert tool.check_tree(root, ["train", "valid"], ["bicubic"], [4], True, counts=MIRROR_COUNTS) == []
    assert sorted(p.name for p in root.iterdir()) == [  # archives deleted, no temporary folder left
        "DIV2K_train_HR", "DIV2K_train_LR_bicubic", "DIV2K_valid_HR", "DIV2K_valid_LR_bicubic"]
    extracted = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.png")}
    assert extracted == files
    assert (tool.ARCHIVES, tool.COUNTS) == official  # the module's tables are untouched
    assert tool.ARCHIVES["DIV2K_valid_HR.zip"][0] == 448993893 and tool.COUNTS == {"train": 800, "valid": 100}
    err = capsys.readouterr().err
    assert "[4/4] DIV2K_valid_LR_bicubic_X4.zip" in err and f"DIV2K ready under {root}" in err

    requests = len(server.requests)  # a second call finds every folder complete: no request at all
    assert tool.download_div2k(str(root), **options) == str(root)
    assert len(server.requests) == requests
    assert capsys.readouterr().err.count("already complete") == 4

    # A wrong sha256 for the first archive: ChecksumError, the bad download deleted, nothing extracted.
    bad_root = tmp_path / "bad"
    bad = dict(table)
    bad["DIV2K_train_HR.zip"] = (table["DIV2K_train_HR.zip"][0], "0" * 64)
    with pytest.raises(tool.ChecksumError, match="DIV2K_train_HR.zip: sha256 mismatch: expected " + "0" * 64):
        tool.download_div2k(bad_root, **dict(options, archives=bad))
    assert sorted(p.name for p in bad_root.iterdir()) == ["archives"]
    assert list((bad_root / "archives").iterdir()) == []
    assert (tool.ARCHIVES, tool.COUNTS) == official


@pytest.mark.parametrize("options, words", [
    (dict(archives={"DIV2K_test_HR.zip": (1, "ab")}), ["unknown archive 'DIV2K_test_HR.zip'"]),
    (dict(archives={"DIV2K_valid_HR.zip": (1, "xyz")}), ["sha256 must be hex digits"]),
    (dict(archives={"DIV2K_valid_HR.zip": 12}), ["(size in bytes, sha256)"]),
    (dict(counts={"test": 2}), ["unknown split 'test'"]),
    (dict(counts={"valid": 0}), ["positive integer"]),
    (dict(splits="valid,nope"), ["unknown split 'nope'"]),
    (dict(tracks=["x8"], scales=[4]), ["'x8'", "not 4"])])
def test_download_div2k_usage_errors(tool, tmp_path, options, words):
    with pytest.raises(tool.UsageError) as error:
        tool.download_div2k(tmp_path / "div2k", **options)
    assert all(word in str(error.value) for word in words), str(error.value)
    assert not (tmp_path / "div2k").exists()


def test_download_div2k_checks_disk_space_first(tool, tmp_path, mirror, serve, monkeypatch):
    payloads, table, _ = mirror
    server = serve(payloads)
    usage = tool.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(tool.shutil, "disk_usage", lambda path: usage._replace(free=100))
    with pytest.raises(tool.Div2kError, match="0.0 GB free under .*GB needed") as error:
        tool.download_div2k(tmp_path / "div2k", splits="valid", scales=[4], base_url=server.base_url,
                            archives=table, counts=MIRROR_COUNTS, progress=False)
    assert error.value.problems == [] and server.requests == []


def test_download_div2k_is_exported():
    import sr_keras.data

    assert sr_keras.data.download_div2k is div2k_download.download_div2k
    assert "download_div2k" in sr_keras.data.__all__


def test_interrupt_propagates_and_the_command_exits_130(tool, tmp_path, mirror, monkeypatch, capsys):
    _, table, _ = mirror

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tool, "download", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tool.download_div2k(tmp_path / "api", splits="valid", scales=[4], archives=table, counts=MIRROR_COUNTS)
    for name in ("DIV2K_valid_HR.zip", "DIV2K_valid_LR_bicubic_X4.zip"):  # small sizes: enough disk space
        monkeypatch.setitem(tool.ARCHIVES, name, table[name])
    assert _main(["--root", str(tmp_path / "cli"), "--splits", "valid", "--scales", "4", "--quiet"]) == 130
    assert capsys.readouterr().err.strip().endswith("interrupted; rerun the same command to resume")
