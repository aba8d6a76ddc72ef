"""Downloading, checking and extracting the official DIV2K archives (Agustsson & Timofte, "NTIRE 2017 Challenge
on Single Image Super-Resolution: Dataset and Study", CVPRW 2017) into the layout `sr_keras.data.div2k` reads
(the archives, folders and file names are those of the table in `sr_keras.data.div2k_archives`).

From Python (a notebook, Colab):

    from sr_keras.data import div2k, download_div2k

    root = download_div2k("data/div2k", splits=["valid"], tracks=["bicubic"], scales=[4])
    data = div2k(root, split="valid", track="bicubic", scale=4)

From the command line: `python -m sr_keras.download_div2k --root data/div2k` (see `sr_keras/cli/download_div2k.py`).

Archives go to `root/archives/<name>.part` (resumed with an HTTP Range request when interrupted), become
`<name>` only once their size and sha256 match, are extracted into a temporary folder that is moved into place
when complete, and are deleted afterwards unless `keep_archives`. Rerunning skips finished work. Progress
lines go to stderr. The downloading itself is `sr_keras.download`.
"""
import os
import shutil
import sys
import tempfile
import zipfile

from sr_keras import download as _download
from sr_keras.data.div2k_archives import (
    ARCHIVES, BASE_URL, COUNTS, SPLITS, TRACKS, Archive, UsageError, archives_for, expected_names)

__all__ = ["ARCHIVES", "BASE_URL", "COUNTS", "SPLITS", "TRACKS", "Archive", "ChecksumError", "Div2kError",
           "DownloadError", "ExtractError", "UsageError", "archives_for", "check_tree", "count_images", "download",
           "download_div2k", "expected_names", "extract", "remove_stale_extractions", "verify_file"]

EXTRACT_PREFIX = ".div2k-extract-"
USER_AGENT = "sr_keras-download_div2k/1.0 (+urllib)"


class ExtractError(RuntimeError):
    """An archive that is corrupt, unsafe, or does not hold the expected files: exit code 1."""


class Div2kError(RuntimeError):
    """Not enough free disk space, or a tree still incomplete after the downloads: exit code 1.

    Attributes:
        problems: the tree check's problems, one line each naming the folder (empty for a disk space error).
    """

    def __init__(self, message, problems=()):
        super().__init__(message)
        self.problems = list(problems)


# ------------------------------------------------------------------------------------------------ download


DownloadError, ChecksumError, verify_file = _download.DownloadError, _download.ChecksumError, _download.verify_file


def _log(message):
    print(message, file=sys.stderr, flush=True)


def download(url, dest, size, sha256, **options):
    """Downloads one archive with `sr_keras.download.download`, checking the size and sha256 of the table.

    `options` are those of `sr_keras.download.download` (retries, timeout, progress, chunk_size, backoff).

    Returns:
        dest.

    Raises:
        ChecksumError: the downloaded file does not match (the message names the archive and both checksums).
        DownloadError: an HTTP error, an unreachable server after the retries, or a wrong size announced.
    """
    return _download.download(url, dest, size=size, sha256=sha256, user_agent=USER_AGENT, **options)


# ----------------------------------------------------------------------------------------------- extraction


def count_images(folder):
    """The number of .png files directly in `folder` (0 when it does not exist)."""
    try:
        with os.scandir(folder) as entries:
            return sum(1 for e in entries if e.is_file() and e.name.lower().endswith(".png"))
    except (FileNotFoundError, NotADirectoryError):
        return 0


def _safe_parts(member):
    """The path components of a zip member name; raises ExtractError for absolute or escaping names."""
    if (not member or "\\" in member or "\0" in member or member.startswith("/")
            or (len(member) > 1 and member[1] == ":")):
        raise ExtractError(f"unsafe member {member!r} (absolute path)")
    parts = [p for p in member.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ExtractError(f"unsafe member {member!r} ('..' in its path)")
    return parts


def extract(archive, root, expected_dir, expected_count):
    """Extracts a zip under `root` so that `root/expected_dir` ends up holding `expected_count` PNG files.

    Nothing is extracted when `root/expected_dir` already holds them. Otherwise the archive is checked (every
    member a relative path without `..`), extracted into a temporary folder in `root` and `expected_dir` moved
    into place only when complete; members outside `expected_dir` are dropped. An existing incomplete folder is
    moved aside to `<folder>.incomplete`.

    Returns:
        The extracted folder, `root/expected_dir`.

    Raises:
        ExtractError: a corrupt or unsafe archive, or one without `expected_count` images in `expected_dir`
            (the message names the folder); no partial folder is left under the final name.
    """
    archive, root = os.fspath(archive), os.fspath(root)
    name = os.path.basename(archive)
    final = os.path.join(root, *_safe_parts(expected_dir))
    if count_images(final) == expected_count:
        _log(f"{name}: {final} already holds {expected_count} images; not extracting")
        return final
    tmp = tempfile.mkdtemp(prefix=EXTRACT_PREFIX, dir=root)
    try:
        try:
            with zipfile.ZipFile(archive) as zf:
                members = [(info, _safe_parts(info.filename)) for info in zf.infolist()]
                _log(f"{name}: extracting {len(members)} members")
                for info, parts in members:
                    if not parts:
                        continue
                    target = os.path.join(tmp, *parts)
                    if info.is_dir():
                        os.makedirs(target, exist_ok=True)
                        continue
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with zf.open(info) as source, open(target, "wb") as out:
                        shutil.copyfileobj(source, out, 1 << 20)
        except ExtractError as error:
            raise ExtractError(f"{name}: {error}; nothing extracted") from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as error:
            raise ExtractError(f"{name}: corrupt archive ({error}); delete it and rerun to download it again") \
                from None
        staged = os.path.join(tmp, *_safe_parts(expected_dir))
        found = count_images(staged)
        if found != expected_count:
            raise ExtractError(f"{expected_dir}: expected {expected_count} images from {name}, found {found}")
        if os.path.lexists(final):
            aside = final + ".incomplete"
            if os.path.isdir(aside) and not os.path.islink(aside):
                shutil.rmtree(aside)
            os.replace(final, aside)
            _log(f"{name}: moved the incomplete {final} aside to {aside}")
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.replace(staged, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _log(f"{name}: extracted {expected_count} images into {final}")
    return final


def remove_stale_extractions(root):
    """Deletes temporary extraction folders left in `root` by an interrupted run."""
    try:
        with os.scandir(root) as entries:
            stale = [e.path for e in entries if e.name.startswith(EXTRACT_PREFIX) and e.is_dir()]
    except OSError:
        return
    for path in stale:
        _log(f"removing {path} left by an interrupted extraction")
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- tree check


def check_tree(root, splits=SPLITS, tracks=("bicubic",), scales=None, hr=True, counts=None):
    """Checks an extracted DIV2K tree: every folder of the requested archives holds exactly its image names.

    Args:
        counts: images per split, {"train": 800, "valid": 100} by default (smaller for tests).

    Returns:
        A list of problems, one line each naming the folder; empty when the tree is complete.

    Raises:
        UsageError: bad splits, tracks or scales (see `archives_for`).
    """
    counts = {**COUNTS, **(counts or {})}
    problems = []
    for archive in archives_for(splits, tracks, scales, hr):
        folder = os.path.join(os.fspath(root), *archive.folder.split("/"))
        if not os.path.isdir(folder):
            problems.append(f"{folder}: missing (from {archive.name})")
            continue
        with os.scandir(folder) as entries:
            found = {e.name for e in entries if e.is_file() and e.name.lower().endswith(".png")}
        expected = expected_names(archive.split, archive.suffix, counts[archive.split])
        missing, extra = sorted(expected - found), sorted(found - expected)
        if missing or extra:
            detail = [f"{len(found)} images, expected {len(expected)}"]
            if missing:
                detail.append(f"missing {len(missing)} (e.g. {', '.join(missing[:3])})")
            if extra:
                detail.append(f"unexpected {len(extra)} (e.g. {', '.join(extra[:3])})")
            problems.append(f"{folder}: " + "; ".join(detail))
    return problems


# ------------------------------------------------------------------------------------------------ download_div2k


def _names(values):
    """Split, track names as a list: a string is one name or several separated by commas ("train,valid")."""
    if isinstance(values, str):
        values = [values]
    return [v.strip() for value in values for v in str(value).split(",") if v.strip()]


def _tables(archives, counts):
    """ARCHIVES and COUNTS with the caller's entries merged in, as new dicts; raises UsageError on bad entries."""
    table = dict(ARCHIVES)
    for name, entry in (archives or {}).items():
        if name not in ARCHIVES:
            raise UsageError(f"archives: unknown archive {name!r} (the names are those of ARCHIVES, "
                             f"e.g. DIV2K_valid_LR_x8.zip)")
        try:
            size, sha256 = entry
        except (TypeError, ValueError):
            raise UsageError(f"archives[{name!r}] must be (size in bytes, sha256), got {entry!r}") from None
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise UsageError(f"archives[{name!r}]: the size must be a non-negative integer, got {size!r}")
        if (not isinstance(sha256, str) or not 1 <= len(sha256) <= 64
                or any(c not in "0123456789abcdefABCDEF" for c in sha256)):
            raise UsageError(f"archives[{name!r}]: the sha256 must be hex digits, got {sha256!r}")
        table[name] = (size, sha256)
    merged = dict(COUNTS)
    for split, count in (counts or {}).items():
        if split not in SPLITS:
            raise UsageError(f"counts: unknown split {split!r} (choose from {', '.join(SPLITS)})")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise UsageError(f"counts[{split!r}] must be a positive integer, got {count!r}")
        merged[split] = count
    return table, merged


def _ensure_writable(root, label="root"):
    """Creates `root` if needed and checks a file can be written in it; raises UsageError naming `label`."""
    try:
        os.makedirs(root, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".div2k-write-test-"):
            pass
    except OSError as error:
        raise UsageError(f"{label} {root} is not a writable folder: {error.strerror or error}") from None


def download_div2k(root, splits=SPLITS, tracks=("bicubic",), scales=None, hr=True, base_url=BASE_URL,
                   keep_archives=False, retries=3, timeout=60.0, progress=True, archives=None, counts=None):
    """Downloads, verifies (size and sha256) and extracts the requested DIV2K archives under `root`.

    Folders already complete are skipped without any network access, a `.part` file left by an interrupted run
    is resumed, an archive already downloaded is verified and reused, and temporary folders of an interrupted
    extraction are removed. The free disk space is checked first. Progress lines go to stderr. Interrupting
    (KeyboardInterrupt) is safe: calling again with the same arguments resumes.

    Args:
        root: folder to hold the DIV2K_* folders (created if needed); `~` is expanded.
        splits: any of "train", "valid" (a string may name several, separated by commas).
        tracks: any of "bicubic", "unknown", "x8", "mild", "difficult"; may be empty with hr=True.
        scales: scales of the bicubic/unknown tracks, None for all of them (x8 is 8, mild and difficult are 4).
        hr: also get the HR archives.
        base_url: where the archives are, the official server by default.
        keep_archives: keep the zip files in `root/archives` after extraction (deleted by default).
        retries: retries (resuming) after a network failure, per archive.
        timeout: network timeout in seconds.
        progress: show download progress on stderr.
        archives: {archive name: (size in bytes, sha256)} replacing entries of the official table, for a
            mirror that holds other files (tests serve miniature archives from 127.0.0.1 this way).
        counts: images per split, e.g. {"train": 4, "valid": 2}, replacing COUNTS (800 / 100) for such a mirror.

    Returns:
        The absolute root (str), once `check_tree` finds it complete.

    Raises:
        UsageError: bad splits, tracks, scales, `archives` or `counts` entries, or an unwritable root.
        DownloadError, ChecksumError: from `sr_keras.download` (a bad archive is deleted, nothing extracted).
        ExtractError: a corrupt or unsafe archive, or one without the expected images.
        Div2kError: not enough free disk space, or the final tree check fails (the message lists the problems,
            also in its `problems` attribute).
        OSError: a file system error while writing.
    """
    table, counts = _tables(archives, counts)
    splits, tracks = _names(splits), _names(tracks)
    wanted = archives_for(splits, tracks, scales, hr, table=table)
    root = os.path.abspath(os.path.expanduser(os.fspath(root)))
    _ensure_writable(root)

    archive_dir = os.path.join(root, "archives")
    remove_stale_extractions(root)
    todo = []
    for archive in wanted:
        folder = os.path.join(root, *archive.folder.split("/"))
        if count_images(folder) == counts[archive.split]:
            _log(f"{archive.folder}: already complete; skipping {archive.name}")
        else:
            todo.append(archive)
    needed = sum(a.size for a in todo)  # extracted PNGs take about the archive size
    for a in todo:
        path = os.path.join(archive_dir, a.name)
        if not os.path.exists(path):
            part = path + ".part"
            needed += a.size - (os.path.getsize(part) if os.path.exists(part) else 0)
    free = shutil.disk_usage(root).free
    if todo and free < needed:
        raise Div2kError(f"{free / 1e9:.1f} GB free under {root}, about {needed / 1e9:.1f} GB needed")
    for i, archive in enumerate(todo, 1):
        _log(f"[{i}/{len(todo)}] {archive.name} ({archive.size / 1e6:,.1f} MB)")
        path = os.path.join(archive_dir, archive.name)
        if os.path.exists(path):
            _log(f"{archive.name}: found in {archive_dir}; verifying it")
        download(archive.url(base_url), path, archive.size, archive.sha256, retries=retries, timeout=timeout,
                 progress=progress)
        extract(path, root, archive.folder, counts[archive.split])
        if not keep_archives:
            os.remove(path)
    try:
        os.rmdir(archive_dir)  # only when empty
    except OSError:
        pass

    problems = check_tree(root, splits, tracks, scales, hr, counts=counts)
    if problems:
        raise Div2kError(f"DIV2K tree under {root} is incomplete: " + "; ".join(problems), problems)
    _log(f"DIV2K ready under {root}")
    return root
