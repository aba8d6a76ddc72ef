"""Downloading files over HTTP: resumed, retried, verified, and never half-written under the final name.

`download(url, dest)` writes the bytes to `dest + ".part"` and renames that file onto `dest` (atomically) only
when the whole file is there and matches the expected sha256, so `dest` either holds the right file or does
not exist. An existing `dest` that verifies is kept without any network access: the destination is the cache.
A part file left by an interrupted run is resumed with an HTTP Range request. A cut connection, HTTP 5xx, 408
and 429 are retried with a growing pause, keeping the part file; other HTTP errors and a wrong checksum raise
at once. Every message is one line on stderr. The result gets the permissions the user's umask gives an
ordinary file.

The expected sha256 may be a whole digest or its first hex digits, such as the 8 that torch.hub puts in file
names (`edsr_baseline_x2-1bc95232.pt`). `cache_dir()` is where the package keeps downloaded files:
`$SR_KERAS_CACHE`, else `$XDG_CACHE_HOME/sr_keras`, else `~/.cache/sr_keras`.

    from sr_keras.download import cache_dir, download

    url = "https://cv.snu.ac.kr/research/EDSR/models/edsr_baseline_x2-1bc95232.pt"
    path = download(url, os.path.join(cache_dir("checkpoints"), os.path.basename(url)), sha256="1bc95232")

Standard library only, and nothing else from the package but its progress line (`sr_keras.progress`);
`sr_keras.pretrained` and `sr_keras.data.div2k_download` build on it.
"""
import hashlib
import http.client
import os
import string
import sys
import time
import urllib.error
import urllib.request

from sr_keras.progress import Progress

USER_AGENT = "sr_keras-download/1.0 (+urllib)"
CACHE_VARIABLE = "SR_KERAS_CACHE"


class DownloadError(RuntimeError):
    """A download that could not complete: an HTTP error, an unreachable server, a wrong size announced.

    Args:
        message: one line, naming the file or the URL.
        url: the URL concerned, when there is one.
        status: the HTTP status code of an HTTP error (e.g. 404), else None.
    """

    def __init__(self, message, url=None, status=None):
        super().__init__(message)
        self.url = url
        self.status = status


class ChecksumError(DownloadError):
    """A file whose size or sha256 differs from the expected one; the message names the file and both values."""


# ----------------------------------------------------------------------------------------------- checksums


def file_sha256(path, chunk_size=1 << 22):
    """The sha256 of a file's contents, as 64 lowercase hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _expected_sha256(sha256):
    """`sha256` in lowercase after checking it is a digest or a prefix of one (1 to 64 hex digits), or None."""
    if sha256 is None:
        return None
    if (not isinstance(sha256, str) or not 1 <= len(sha256) <= 64
            or any(c not in string.hexdigits for c in sha256)):
        raise ValueError(f"sha256 must be 1 to 64 hex digits (a digest or its beginning), got {sha256!r}")
    return sha256.lower()


def _expected_size(size):
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise ValueError(f"size must be a non-negative integer or None, got {size!r}")
    return size


def verify_file(path, size=None, sha256=None, name=None):
    """Checks a file's size, then its sha256; either check is skipped when its value is None.

    Args:
        path: the file.
        size: the expected size in bytes, or None.
        sha256: the expected digest, whole (64 hex digits) or its beginning (e.g. 8 hex digits), or None.
        name: the file's label in messages (default: its base name).

    Returns:
        The path.

    Raises:
        ChecksumError: naming the file and the expected and actual size or sha256.
        FileNotFoundError: no such file.
        ValueError: `sha256` is not hex digits, or `size` not a non-negative integer.
    """
    path = os.fspath(path)
    name = name or os.path.basename(path)
    size, sha256 = _expected_size(size), _expected_sha256(sha256)
    actual_size = os.path.getsize(path)
    if size is not None and actual_size != size:
        raise ChecksumError(f"{name}: size mismatch: expected {size} bytes, got {actual_size}")
    if sha256 is not None:
        actual = file_sha256(path)
        if not actual.startswith(sha256):
            expected = sha256 if len(sha256) == 64 else f"{sha256}... (a prefix)"
            raise ChecksumError(f"{name}: sha256 mismatch: expected {expected}, got {actual}")
    return path


# ------------------------------------------------------------------------------------------------- cache


def cache_dir(subdir=None):
    """The folder for downloaded files, created if needed.

    It is `$SR_KERAS_CACHE` when that variable is set, else `$XDG_CACHE_HOME/sr_keras`, else
    `~/.cache/sr_keras`.

    Args:
        subdir: a relative folder inside the cache (e.g. "checkpoints"), or None for the cache itself.

    Returns:
        The absolute path of the folder.

    Raises:
        PermissionError: the folder cannot be created or written (the message names it and SR_KERAS_CACHE).
        ValueError: `subdir` is an absolute path.
    """
    root = os.environ.get(CACHE_VARIABLE)
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = xdg if xdg and os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "sr_keras")
    path = os.path.abspath(os.path.expanduser(root))
    if subdir is not None:
        if os.path.isabs(subdir):
            raise ValueError(f"subdir must be a relative path inside the cache, got {subdir!r}")
        path = os.path.join(path, subdir)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise PermissionError(f"cannot create the cache folder {path}: {error.strerror or error} "
                              f"(set {CACHE_VARIABLE} to a writable folder)") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"the cache folder {path} is not writable (set {CACHE_VARIABLE} to a writable folder)")
    return path


# ------------------------------------------------------------------------------------------------ messages


def _log(message):
    print(message, file=sys.stderr, flush=True)


def _one_line(value):
    return " ".join(str(value).split())


def _megabytes(n):
    return f"{n / 1e6:,.1f} MB"


class _Progress(Progress):
    """Bytes, percentage, speed and ETA of one download; nothing in its first `QUIET_SECONDS` but the final line,
    so a short download writes only that."""

    QUIET_SECONDS = 2.0

    def __init__(self, name, total, done, enabled):
        super().__init__(total, start=done, label=name, quiet_for=self.QUIET_SECONDS, enabled=enabled)

    def describe(self, done, rate, eta):
        if self.total is None:
            return f"{self.label}: {_megabytes(done)}  {rate / 1e6:.1f} MB/s"
        return (f"{self.label}: {_megabytes(done)} / {_megabytes(self.total)} "
                f"({100 * done / self.total:.0f}%)  {rate / 1e6:.1f} MB/s  ETA {eta}")


# ------------------------------------------------------------------------------------------------ download


class _Transient(Exception):
    """A network failure worth retrying (resuming from the part file)."""


class _RangeRefused(Exception):
    """HTTP 416: the server cannot send the file from the requested byte; `total` is its size when it says."""

    def __init__(self, total):
        super().__init__(total)
        self.total = total


def _content_range(value):
    """(first byte, total size) of a Content-Range header ("bytes 100-999/1000", "bytes */1000"); None if absent."""
    if not value or not value.startswith("bytes "):
        return None, None
    span, _, total = value[len("bytes "):].partition("/")
    first = span.split("-")[0].strip()
    total = total.strip()
    return (int(first) if first.isdigit() else None), (int(total) if total.isdigit() else None)


def _open(url, offset, timeout, user_agent):
    """The response for `url` from byte `offset`.

    Raises:
        _RangeRefused: HTTP 416 to a Range request.
        _Transient: an unreachable server, HTTP 5xx, 408 or 429.
        DownloadError: any other HTTP error (404 etc.), naming the URL.
    """
    headers = {"User-Agent": user_agent}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as error:
        content_range = error.headers.get("Content-Range") if error.headers else None
        error.close()
        if error.code == 416 and offset:
            raise _RangeRefused(_content_range(content_range)[1]) from None
        if error.code >= 500 or error.code in (408, 429):
            raise _Transient(f"HTTP {error.code} {_one_line(error.reason)}") from None
        raise DownloadError(f"HTTP {error.code} {_one_line(error.reason)} for {url}", url=url,
                            status=error.code) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        raise _Transient(f"cannot reach {url}: {_one_line(getattr(error, 'reason', error))}") from None


def _fetch(url, part, name, size, options):
    """Appends the rest of `url` to `part` (from its current size) and returns the size of the complete file.

    Raises:
        _Transient: the connection failed or closed before the announced size (the part file is kept).
        DownloadError: an HTTP error, or a size announced by the server that differs from `size`.
        ChecksumError: more bytes than `size` (the part file is deleted).
    """
    offset = os.path.getsize(part) if os.path.exists(part) else 0
    if size is not None and offset > size:
        _log(f"{name}: the partial file is larger than the expected {size} bytes; starting again")
        offset = 0
    if offset and offset == size:
        return size
    response = None
    if offset:
        try:
            response = _open(url, offset, options["timeout"], options["user_agent"])
        except _RangeRefused as refused:
            if size is None and refused.total == offset:
                return offset  # the part file already holds the whole file
            _log(f"{name}: the server cannot resume from byte {offset}; starting again")
            offset = 0
    if response is None:
        response = _open(url, 0, options["timeout"], options["user_agent"])
    with response:
        total = None
        if offset:
            status = getattr(response, "status", None)
            first, total = _content_range(response.headers.get("Content-Range"))
            if status != 206:
                _log(f"{name}: the server ignored the resume request; starting again")
                offset, total = 0, None
            elif first != offset:
                os.remove(part)
                raise _Transient(f"the server resumed at {response.headers.get('Content-Range')!r} instead of "
                                 f"byte {offset}; starting again")
        length = response.headers.get("Content-Length", "").strip()
        if total is None and length.isdigit():
            total = offset + int(length)
        if size is not None and total is not None and total != size:
            raise DownloadError(f"{name}: {url} is {total} bytes, expected {size} (a wrong file or mirror?)",
                                url=url)
        expected = size if size is not None else total
        if offset:
            _log(f"{name}: resuming at {_megabytes(offset)}")
        bar = _Progress(name, expected, offset, options["progress"])
        done = offset
        try:
            with open(part, "ab" if offset else "wb") as f:
                while expected is None or done <= expected:
                    want = options["chunk_size"] if expected is None else min(options["chunk_size"],
                                                                                expected - done + 1)
                    try:
                        chunk = response.read(want)
                    except (http.client.HTTPException, OSError) as error:
                        of = "" if expected is None else f" of {expected}"
                        raise _Transient(f"connection lost at byte {done}{of}: {_one_line(repr(error))}") from None
                    if not chunk:
                        break
                    f.write(chunk)
                    done += len(chunk)
                    bar.update(done)
            if expected is None or done == expected:
                bar.update(done, final=True)
        finally:
            bar.end_line()
    if expected is not None and done > expected:
        os.remove(part)
        raise ChecksumError(f"{name}: the server sent more than the expected {expected} bytes "
                            f"(a wrong file or mirror?); the partial file was deleted")
    if expected is not None and done < expected:
        raise _Transient(f"connection closed at byte {done} of {expected}")
    return done


def download(url, dest, *, size=None, sha256=None, retries=3, timeout=60.0, progress=True, chunk_size=1 << 20,
             backoff=2.0, user_agent=USER_AGENT):
    """Downloads `url` to `dest` through `dest + ".part"`, resuming an existing part file with HTTP Range.

    An existing `dest` that verifies is kept with no network access (with neither `size` nor `sha256`, any
    existing `dest` is kept); one that does not verify is downloaded again. The part file is renamed onto
    `dest` only once complete and verified; on a checksum mismatch it is deleted. After a network failure the
    download is retried from where it stopped, pausing `backoff`, then twice as long, and so on (at most 60 s);
    `retries` counts the failures in a row that added no byte. The part file is kept for a later run.

    Args:
        url: an http(s) (or file) URL.
        dest: the final file; its folder is created if needed.
        size: the expected size in bytes; None trusts the size the server announces (Content-Length or
            Content-Range), and a download of unknown size is complete when the server ends it normally.
        sha256: the expected digest, whole or its first hex digits (e.g. the 8 of torch.hub file names); None
            skips the check.
        retries: how many failures in a row to retry.
        timeout: seconds to wait for the server to connect or send data.
        progress: show progress on stderr and a line for the finished file; False keeps only the notes
            about retries and restarts.
        chunk_size: bytes read at a time.
        backoff: the first pause before a retry, in seconds.
        user_agent: the User-Agent header.

    Returns:
        dest.

    Raises:
        ChecksumError: the downloaded file does not match (the message names it and both digests).
        DownloadError: an HTTP error (naming the URL), an unreachable server after the retries (saying how
            many bytes the part file keeps), or a size announced by the server that differs from `size`.
        ValueError: `sha256` is not hex digits, or `size` not a non-negative integer.
    """
    dest = os.fspath(dest)
    name = os.path.basename(dest)
    size, sha256 = _expected_size(size), _expected_sha256(sha256)
    if os.path.exists(dest):
        try:
            return verify_file(dest, size, sha256)
        except ChecksumError as error:
            _log(f"{name}: the existing file does not verify ({error}); downloading again")
            os.remove(dest)
    os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
    part = dest + ".part"
    options = {"timeout": timeout, "chunk_size": chunk_size, "progress": progress, "user_agent": user_agent}
    failures = 0
    while True:
        before = os.path.getsize(part) if os.path.exists(part) else 0
        try:
            total = _fetch(url, part, name, size, options)
            break
        except _Transient as error:
            kept = os.path.getsize(part) if os.path.exists(part) else 0
            failures = 1 if kept > before else failures + 1
            if failures > retries:
                kept = f"{kept} bytes kept in {part}, rerun to resume" if kept else "nothing downloaded"
                raise DownloadError(f"{name}: download failed after {failures} attempt(s) in a row: {error}; "
                                    f"{kept}", url=url) from None
            wait = min(backoff * 2 ** (failures - 1), 60.0)
            _log(f"{name}: {error}; retry {failures}/{retries} in {wait:.0f}s from byte {kept}")
            time.sleep(wait)
    try:
        verify_file(part, size, sha256, name=name)
    except ChecksumError as error:
        os.remove(part)
        raise ChecksumError(f"{error} (from {url}; the partial file was deleted, rerun to download again)") from None
    os.replace(part, dest)
    if progress:
        checked = f", sha256 {sha256[:12]}... verified" if sha256 else ""
        _log(f"{name}: downloaded {_megabytes(total)}{checked}")
    return dest
