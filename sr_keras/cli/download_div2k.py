"""Downloads, checks and extracts the official DIV2K archives into the layout `sr_keras.data.div2k` reads.

    python -m sr_keras.download_div2k --root=data/div2k                      # HR + bicubic x2/x3/x4, both splits
    python -m sr_keras.download_div2k --root=data/div2k --splits=valid --tracks=bicubic --scales=4
    python -m sr_keras.download_div2k --root=data/div2k --tracks=mild,difficult,x8
    python -m sr_keras.download_div2k --root=data/div2k --check_only         # verify an extracted tree, offline

The work is `sr_keras.data.download_div2k` (see `sr_keras/data/div2k_download.py`), which a notebook can call
directly. Rerunning skips finished work and resumes an interrupted download. No TensorFlow is imported.
Exit codes: 0 done, 1 download / checksum / extraction / tree error, 2 usage error, 130 interrupted.
"""
import os
import sys

from absl import flags

from sr_keras.cli.common import entry_point
from sr_keras.data.div2k_archives import BASE_URL, SPLITS, TRACKS, UsageError, archives_for, track_scales

# Its own flags, apart from absl's global ones: `--scales` means another thing to `train`, and the tests run
# this command in the same process as others.
FLAGS = flags.FlagValues()
_DEFINE = {"flag_values": FLAGS}
flags.DEFINE_string("root", None, "folder to hold the DIV2K_* folders (created if needed)", **_DEFINE)
flags.DEFINE_list("splits", list(SPLITS), "train and/or valid, comma-separated", **_DEFINE)
flags.DEFINE_list("tracks", ["bicubic"], f"comma-separated, any of {', '.join(TRACKS)}", **_DEFINE)
flags.DEFINE_list("scales", None, f"scales of the tracks, comma-separated (default: all of them; "
                  f"{track_scales()})", **_DEFINE)
flags.DEFINE_bool("hr", True, "also get the HR archives (--nohr skips them)", **_DEFINE)
flags.DEFINE_bool("keep_archives", False, "keep the zip files after extraction", **_DEFINE)
flags.DEFINE_bool("check_only", False, "only verify an existing extracted tree (file counts and names), no "
                  "network", **_DEFINE)
flags.DEFINE_string("base_url", BASE_URL, "where the archives are", **_DEFINE)
flags.DEFINE_integer("retries", 3, "retries (resuming) after a network failure", **_DEFINE)
flags.DEFINE_float("timeout", 60.0, "network timeout in seconds", **_DEFINE)
flags.DEFINE_bool("quiet", False, "no progress display", **_DEFINE)
flags.mark_flags_as_required(["root"], **_DEFINE)

def main(argv):
    """Returns the exit code (0 ok, 1 failure, 2 usage error, 130 interrupted)."""
    from sr_keras.data import div2k_download

    root = os.path.abspath(os.path.expanduser(FLAGS.root))
    try:
        scales = _scales(FLAGS.scales)
        archives = archives_for(FLAGS.splits, FLAGS.tracks, scales, FLAGS.hr)
        if FLAGS.check_only and not os.path.isdir(root):
            raise UsageError(f"--root {root} is not a folder")
    except UsageError as error:
        return _error(error, 2)
    if FLAGS.check_only:
        problems = div2k_download.check_tree(root, FLAGS.splits, FLAGS.tracks, scales, FLAGS.hr)
        for problem in problems:
            _error(problem)
        if problems:
            return 1
        print(f"DIV2K tree under {root} is complete ({len(archives)} folders)", file=sys.stderr)
        print(_snippet(root, archives))
        return 0
    try:
        div2k_download.download_div2k(root, FLAGS.splits, FLAGS.tracks, scales, FLAGS.hr, base_url=FLAGS.base_url,
                                      keep_archives=FLAGS.keep_archives, retries=FLAGS.retries,
                                      timeout=FLAGS.timeout, progress=not FLAGS.quiet)
    except UsageError as error:
        return _error(error, 2)
    except div2k_download.Div2kError as error:
        for problem in error.problems or [str(error)]:
            _error(problem)
        return 1
    except (div2k_download.DownloadError, div2k_download.ExtractError) as error:
        return _error(f"{error}{' (check --base_url)' if getattr(error, 'status', None) == 404 else ''}")
    except OSError as error:
        return _error(error)
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    print(_snippet(root, archives))
    return 0


def _scales(values):
    try:
        return None if values is None else [int(value) for value in values]
    except ValueError:
        raise UsageError(f"--scales takes integers, e.g. --scales=2,4; got {','.join(values)}") from None


def _error(message, code=1):
    print(f"error: {message}", file=sys.stderr, flush=True)
    return code


def _snippet(root, archives):
    lr = [a for a in archives if a.track != "HR"]
    split = "train" if any(a.split == "train" for a in archives) else "valid"
    track, scale = (lr[0].track, lr[0].scale) if lr else ("bicubic", 4)
    return ("Use it with:\n"
            "    from sr_keras.data import div2k\n"
            f"    data = div2k({root!r}, split={split!r}, track={track!r}, scale={scale})")


run = entry_point(main)  # the console script sr-download-div2k


if __name__ == "__main__":
    run()
