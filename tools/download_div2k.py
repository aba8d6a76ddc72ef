"""Downloads, checks and extracts the official DIV2K archives (Agustsson & Timofte, "NTIRE 2017 Challenge on
Single Image Super-Resolution: Dataset and Study", CVPRW 2017) into the layout `sr_keras.data.div2k` reads:

    root/DIV2K_train_HR/0001.png ... 0800.png            root/DIV2K_valid_HR/0801.png ... 0900.png
    root/DIV2K_{split}_LR_bicubic/X{s}/0001x{s}.png      root/DIV2K_{split}_LR_unknown/X{s}/0001x{s}.png
    root/DIV2K_{split}_LR_x8/0001x8.png                  root/DIV2K_{split}_LR_mild/0001x4m.png
    root/DIV2K_{split}_LR_difficult/0001x4d.png

    python tools/download_div2k.py --root ~/data/div2k                       # HR + bicubic x2/x3/x4, both splits
    python tools/download_div2k.py --root ~/data/div2k --splits valid --tracks bicubic --scales 4
    python tools/download_div2k.py --root ~/data/div2k --tracks mild difficult x8
    python tools/download_div2k.py --root ~/data/div2k --check_only          # verify an extracted tree, offline

Archives go to `root/archives/<name>.part` (resumed with an HTTP Range request when interrupted), become
`<name>` only once their size and sha256 match, are extracted into a temporary folder that is moved into place
when complete, and are deleted afterwards unless --keep_archives. Rerunning skips finished work.
Standard library only, so it runs before sr_keras or TensorFlow is installed: the downloading is
`sr_keras/download.py`, loaded from its file rather than through the package (which imports TensorFlow).
Exit codes: 0 done, 1 download / checksum / extraction / tree error, 2 usage error, 130 interrupted.
"""
import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
import zipfile
from typing import NamedTuple

BASE_URL = "https://data.vision.ee.ethz.ch/cvl/DIV2K/"

# name -> (size in bytes, sha256) of the official archives.
ARCHIVES = {
    "DIV2K_train_HR.zip": (3530603713, "9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335"),
    "DIV2K_train_LR_bicubic_X2.zip": (925390592, "a53a424317575838dadce4bcd97cf7b744d6855f43740ed5f0245af3cf4bd850"),
    "DIV2K_train_LR_bicubic_X3.zip": (427847282, "ad5c8e5507e2765823d3c2c5bd0934842efcd487c5370604c224090898b3163a"),
    "DIV2K_train_LR_bicubic_X4.zip": (246914039, "f006b837f4eb52b82909aa01478e6d6d199eefce932179491d0c9dbb706dde3a"),
    "DIV2K_train_LR_difficult.zip": (263211252, "50624a649a0857fdb8e4a948e79c44c37dedbacb5729f9349cc983c47bfdf799"),
    "DIV2K_train_LR_mild.zip": (275693358, "ce5fbe6252d1000c55656b0666dccdeaf8e66b86ae5ff528c49343012e8e1391"),
    "DIV2K_train_LR_unknown_X2.zip": (734182735, "f166eeba119fc55bfc9a99c05561980e7a965382f36640ce8ef626c9f61d122c"),
    "DIV2K_train_LR_unknown_X3.zip": (377245548, "b6455af3b2aa02d76ae3238c49d7aae3b48b0acdc44b5bdc0f4c02d40ebcb43b"),
    "DIV2K_train_LR_unknown_X4.zip": (208956781, "d131c7aad51e0abbdc4433362ce899e5e75f40b9847ead70ee995188e8fd0adb"),
    "DIV2K_train_LR_x8.zip": (65753171, "706fa23164fa0756a3accb78e69b937ea47f882b47e13506895deefd623a35c2"),
    "DIV2K_valid_HR.zip": (448993893, "20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc"),
    "DIV2K_valid_LR_bicubic_X2.zip": (117763600, "60eed9875c697df51204aa579e2a699e1d5215095788a097ff54dd17e2664d57"),
    "DIV2K_valid_LR_bicubic_X3.zip": (54513392, "04b9a2ed3b4a0715d3924d3ae8514830c3328fac8d30512ce716d6f419e052a3"),
    "DIV2K_valid_LR_bicubic_X4.zip": (31505881, "a50a5d1c4b88de4e8d300d8fb2b904c52fe93b2b298a4899697760d7cbb6d553"),
    "DIV2K_valid_LR_difficult.zip": (33596835, "08b4e740496b50846497463121329c707dd8ed26eb8a655d175e9a595286d5e8"),
    "DIV2K_valid_LR_mild.zip": (35300939, "eedfbcb6acc6662a3f52924aaa5a423693244f3276d37c3fca7944c7325859ff"),
    "DIV2K_valid_LR_unknown_X2.zip": (93433041, "ec50bb084c0011130874efd2ed7859b46e0aa7104c565818d5271ac315e04e0a"),
    "DIV2K_valid_LR_unknown_X3.zip": (48143315, "ebf23a3e1ef6800cae97285d3a50d022d89b62655e685884c0abcc89eec5b809"),
    "DIV2K_valid_LR_unknown_X4.zip": (26695095, "e3897555a98de1157c20974fb6093105fbc1ff5e9caf7bd348f58f6da140fbef"),
    "DIV2K_valid_LR_x8.zip": (8428103, "3432f23da7c6887acc5e2cde9669427a7710b3b256c58912dddc19e3eda5bc69"),
}

SPLITS = ("train", "valid")
# track -> scales it has (the same table as sr_keras.data.div2k.TRACKS).
TRACK_SCALES = {"bicubic": (2, 3, 4), "unknown": (2, 3, 4), "x8": (8,), "mild": (4,), "difficult": (4,)}
# Images per folder and the number of the first image of each split.
COUNTS = {"train": 800, "valid": 100}
FIRST_IMAGE = {"train": 1, "valid": 801}

EXTRACT_PREFIX = ".div2k-extract-"
USER_AGENT = "sr_keras-download_div2k/1.0 (+urllib)"


class UsageError(ValueError):
    """A bad option (unknown split or track, a scale a track does not have, an unusable root): exit code 2."""


class ExtractError(RuntimeError):
    """An archive that is corrupt, unsafe, or does not hold the expected files: exit code 1."""


class Archive(NamedTuple):
    name: str      # e.g. "DIV2K_train_LR_bicubic_X4.zip"
    split: str     # "train" or "valid"
    track: str     # "HR" or a track of TRACK_SCALES
    scale: int     # 1 for HR
    folder: str    # extracted folder relative to root, e.g. "DIV2K_train_LR_bicubic/X4"
    suffix: str    # file name suffix after the image number, e.g. "x4" for "0001x4.png"
    size: int
    sha256: str

    def url(self, base_url=BASE_URL):
        return base_url.rstrip("/") + "/" + self.name


def _archive(split, track, scale):
    if track == "HR":
        name, folder, suffix = f"DIV2K_{split}_HR.zip", f"DIV2K_{split}_HR", ""
    elif track in ("bicubic", "unknown"):
        name = f"DIV2K_{split}_LR_{track}_X{scale}.zip"
        folder, suffix = f"DIV2K_{split}_LR_{track}/X{scale}", f"x{scale}"
    else:
        name, folder = f"DIV2K_{split}_LR_{track}.zip", f"DIV2K_{split}_LR_{track}"
        suffix = {"x8": "x8", "mild": "x4m", "difficult": "x4d"}[track]
    size, sha256 = ARCHIVES[name]
    return Archive(name, split, track, scale, folder, suffix, size, sha256)


def _unique(values):
    return list(dict.fromkeys(values))


def archives_for(splits=SPLITS, tracks=("bicubic",), scales=None, hr=True):
    """The archives of the requested splits, tracks and scales, HR first within each split.

    Args:
        splits: any of "train", "valid".
        tracks: any of "bicubic", "unknown", "x8", "mild", "difficult" (may be empty with hr=True).
        scales: scales of the bicubic/unknown tracks; None gives every scale of every track. Each requested
            track must have at least one requested scale (x8 has only 8; mild and difficult only 4), and each
            requested scale must belong to a requested track.
        hr: include the HR archive of each split.

    Raises:
        UsageError: an unknown split or track, a scale no requested track has, or nothing to download.
    """
    splits, tracks = _unique(splits), _unique(tracks)
    for split in splits:
        if split not in SPLITS:
            raise UsageError(f"unknown split {split!r} (choose from {', '.join(SPLITS)})")
    for track in tracks:
        if track not in TRACK_SCALES:
            raise UsageError(f"unknown track {track!r} (choose from {', '.join(TRACK_SCALES)})")
    if not splits:
        raise UsageError("no split given (choose from train, valid)")
    if not tracks and not hr:
        raise UsageError("nothing to download: no track and --no_hr")
    chosen = {}
    if scales is None:
        chosen = {track: TRACK_SCALES[track] for track in tracks}
    else:
        scales = sorted(set(scales))
        for track in tracks:
            chosen[track] = tuple(s for s in scales if s in TRACK_SCALES[track])
            if not chosen[track]:
                have = " ".join(str(s) for s in TRACK_SCALES[track])
                raise UsageError(f"track {track!r} has scale(s) {have}, not {' '.join(map(str, scales))} "
                                 f"(--scales applies to bicubic/unknown; x8 is 8, mild and difficult are 4)")
        for scale in scales:
            if tracks and not any(scale in chosen[track] for track in tracks):
                raise UsageError(f"scale {scale} belongs to none of the tracks {', '.join(tracks)} "
                                 f"(bicubic/unknown have 2 3 4, x8 has 8, mild/difficult have 4)")
    result = []
    for split in splits:
        if hr:
            result.append(_archive(split, "HR", 1))
        for track in tracks:
            result.extend(_archive(split, track, scale) for scale in chosen[track])
    return result


def expected_names(split, suffix, count=None):
    """The image file names of a DIV2K folder, e.g. {"0801x4.png", ...} for split "valid", suffix "x4"."""
    count = COUNTS[split] if count is None else count
    first = FIRST_IMAGE[split]
    return {f"{i:04d}{suffix}.png" for i in range(first, first + count)}


# ------------------------------------------------------------------------------------------------ download


def _load_download_module():
    """sr_keras/download.py of this checkout, loaded from its file: importing it through the sr_keras package
    would import TensorFlow, which this tool does not need, and the package may not be installed yet."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "sr_keras", "download.py")
    spec = importlib.util.spec_from_file_location("_sr_keras_download", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_download = _load_download_module()
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


# --------------------------------------------------------------------------------------------------- main


def _parser():
    parser = argparse.ArgumentParser(
        prog="download_div2k.py",
        description="Download, verify (size + sha256) and extract the official DIV2K archives into the layout "
                    "sr_keras.data.div2k(root, split, track, scale) reads.")
    parser.add_argument("--root", required=True, help="folder to hold the DIV2K_* folders (created if needed)")
    parser.add_argument("--splits", nargs="+", default=list(SPLITS), metavar="SPLIT",
                        help="train and/or valid (default: both)")
    parser.add_argument("--tracks", nargs="+", default=["bicubic"], metavar="TRACK",
                        help="any of bicubic, unknown, x8, mild, difficult (default: bicubic)")
    parser.add_argument("--scales", nargs="+", type=int, default=None, metavar="S",
                        help="scales of bicubic/unknown (default: 2 3 4); x8 is 8, mild and difficult are 4")
    parser.add_argument("--hr", dest="hr", action="store_true", default=True,
                        help="also get the HR archives (default)")
    parser.add_argument("--no_hr", dest="hr", action="store_false", help="skip the HR archives")
    parser.add_argument("--keep_archives", action="store_true", help="keep the zip files after extraction")
    parser.add_argument("--check_only", action="store_true",
                        help="only verify an existing extracted tree (file counts and names), no network")
    parser.add_argument("--base_url", default=BASE_URL, help=f"where the archives are (default: {BASE_URL})")
    parser.add_argument("--retries", type=int, default=3, help="retries (resuming) after a network failure")
    parser.add_argument("--timeout", type=float, default=60.0, help="network timeout in seconds")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    return parser


def _split_commas(values):
    return [v for value in values for v in value.split(",") if v]


def _snippet(root, archives):
    lr = [a for a in archives if a.track != "HR"]
    split = "train" if any(a.split == "train" for a in archives) else "valid"
    track, scale = (lr[0].track, lr[0].scale) if lr else ("bicubic", 4)
    return ("Use it with:\n"
            "    import sr_keras\n"
            f"    data = sr_keras.data.div2k({root!r}, split={split!r}, track={track!r}, scale={scale})")


def _ensure_writable(root):
    try:
        os.makedirs(root, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".div2k-write-test-"):
            pass
    except OSError as error:
        raise UsageError(f"--root {root} is not a writable folder: {error.strerror or error}") from None


def main(argv=None):
    """Command line entry point; returns the exit code (0 ok, 1 failure, 2 usage error, 130 interrupted)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    root = os.path.abspath(os.path.expanduser(args.root))
    try:
        archives = archives_for(_split_commas(args.splits), _split_commas(args.tracks), args.scales, args.hr)
        if args.check_only:
            if not os.path.isdir(root):
                raise UsageError(f"--root {root} is not a folder")
        else:
            _ensure_writable(root)
    except UsageError as error:
        _log(f"{parser.prog}: error: {error}")
        return 2

    def check():
        problems = check_tree(root, _split_commas(args.splits), _split_commas(args.tracks), args.scales, args.hr)
        for problem in problems:
            _log(f"error: {problem}")
        return problems

    if args.check_only:
        if check():
            return 1
        _log(f"DIV2K tree under {root} is complete ({len(archives)} folders)")
        print(_snippet(root, archives))
        return 0

    try:
        archive_dir = os.path.join(root, "archives")
        remove_stale_extractions(root)
        todo = []
        for archive in archives:
            folder = os.path.join(root, *archive.folder.split("/"))
            if count_images(folder) == COUNTS[archive.split]:
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
            _log(f"error: {free / 1e9:.1f} GB free under {root}, about {needed / 1e9:.1f} GB needed")
            return 1
        for i, archive in enumerate(todo, 1):
            _log(f"[{i}/{len(todo)}] {archive.name} ({archive.size / 1e6:,.1f} MB)")
            path = os.path.join(archive_dir, archive.name)
            if os.path.exists(path):
                _log(f"{archive.name}: found in {archive_dir}; verifying it")
            download(archive.url(args.base_url), path, archive.size, archive.sha256, retries=args.retries,
                     timeout=args.timeout, progress=not args.quiet)
            extract(path, root, archive.folder, COUNTS[archive.split])
            if not args.keep_archives:
                os.remove(path)
        try:
            os.rmdir(archive_dir)  # only when empty
        except OSError:
            pass
    except (DownloadError, ExtractError) as error:
        hint = " (check --base_url)" if getattr(error, "status", None) == 404 else ""
        _log(f"error: {error}{hint}")
        return 1
    except OSError as error:
        _log(f"error: {error}")
        return 1
    except KeyboardInterrupt:
        _log("interrupted; rerun the same command to resume")
        return 130
    if check():
        return 1
    _log(f"DIV2K ready under {root}")
    print(_snippet(root, archives))
    return 0


if __name__ == "__main__":
    sys.exit(main())
