"""Downloads, checks and extracts the official DIV2K archives into the layout `sr_keras.data.div2k` reads.

    python -m sr_keras.download_div2k --root data/div2k                       # HR + bicubic x2/x3/x4, both splits
    python -m sr_keras.download_div2k --root data/div2k --splits valid --tracks bicubic --scales 4
    python -m sr_keras.download_div2k --root data/div2k --tracks mild difficult x8
    python -m sr_keras.download_div2k --root data/div2k --check_only          # verify an extracted tree, offline

The work is `sr_keras.data.download_div2k` (see `sr_keras/data/div2k_download.py`), which a notebook can call
directly. Rerunning skips finished work and resumes an interrupted download.
Exit codes: 0 done, 1 download / checksum / extraction / tree error, 2 usage error, 130 interrupted.
"""
import argparse
import os
import sys

from sr_keras.data import div2k_download as _div2k  # noqa: E402  (after the TensorFlow log level)
from sr_keras.data.div2k_archives import TRACKS, track_scales

PROG = "python -m sr_keras.download_div2k"


def _parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Download, verify (size + sha256) and extract the official DIV2K archives into the layout "
                    "sr_keras.data.div2k(root, split, track, scale) reads.")
    parser.add_argument("--root", required=True, help="folder to hold the DIV2K_* folders (created if needed)")
    parser.add_argument("--splits", nargs="+", default=list(_div2k.SPLITS), metavar="SPLIT",
                        help="train and/or valid (default: both)")
    parser.add_argument("--tracks", nargs="+", default=["bicubic"], metavar="TRACK",
                        help=f"any of {', '.join(TRACKS)} (default: bicubic)")
    parser.add_argument("--scales", nargs="+", type=int, default=None, metavar="S",
                        help=f"scales of the tracks (default: all of them; {track_scales()})")
    parser.add_argument("--hr", dest="hr", action="store_true", default=True,
                        help="also get the HR archives (default)")
    parser.add_argument("--no_hr", dest="hr", action="store_false", help="skip the HR archives")
    parser.add_argument("--keep_archives", action="store_true", help="keep the zip files after extraction")
    parser.add_argument("--check_only", action="store_true",
                        help="only verify an existing extracted tree (file counts and names), no network")
    parser.add_argument("--base_url", default=_div2k.BASE_URL,
                        help=f"where the archives are (default: {_div2k.BASE_URL})")
    parser.add_argument("--retries", type=int, default=3, help="retries (resuming) after a network failure")
    parser.add_argument("--timeout", type=float, default=60.0, help="network timeout in seconds")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    return parser


def _snippet(root, archives):
    lr = [a for a in archives if a.track != "HR"]
    split = "train" if any(a.split == "train" for a in archives) else "valid"
    track, scale = (lr[0].track, lr[0].scale) if lr else ("bicubic", 4)
    return ("Use it with:\n"
            "    import sr_keras\n"
            f"    data = sr_keras.data.div2k({root!r}, split={split!r}, track={track!r}, scale={scale})")


def _log(message):
    print(message, file=sys.stderr, flush=True)


def main(argv=None):
    """Command line entry point; returns the exit code (0 ok, 1 failure, 2 usage error, 130 interrupted)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    root = os.path.abspath(os.path.expanduser(args.root))
    splits, tracks = _div2k._names(args.splits), _div2k._names(args.tracks)
    try:
        archives = _div2k.archives_for(splits, tracks, args.scales, args.hr)
        if args.check_only and not os.path.isdir(root):
            raise _div2k.UsageError(f"--root {root} is not a folder")
    except _div2k.UsageError as error:
        _log(f"{parser.prog}: error: {error}")
        return 2

    if args.check_only:
        problems = _div2k.check_tree(root, splits, tracks, args.scales, args.hr)
        for problem in problems:
            _log(f"error: {problem}")
        if problems:
            return 1
        _log(f"DIV2K tree under {root} is complete ({len(archives)} folders)")
        print(_snippet(root, archives))
        return 0

    try:
        _div2k.download_div2k(root, splits, tracks, args.scales, args.hr, base_url=args.base_url,
                              keep_archives=args.keep_archives, retries=args.retries, timeout=args.timeout,
                              progress=not args.quiet)
    except _div2k.UsageError as error:
        _log(f"{parser.prog}: error: {error}")
        return 2
    except _div2k.Div2kError as error:
        for problem in error.problems or [str(error)]:
            _log(f"error: {problem}")
        return 1
    except (_div2k.DownloadError, _div2k.ExtractError) as error:
        hint = " (check --base_url)" if getattr(error, "status", None) == 404 else ""
        _log(f"error: {error}{hint}")
        return 1
    except OSError as error:
        _log(f"error: {error}")
        return 1
    except KeyboardInterrupt:
        _log("interrupted; rerun the same command to resume")
        return 130
    print(_snippet(root, archives))
    return 0


if __name__ == "__main__":
    sys.exit(main())
