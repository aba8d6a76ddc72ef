"""Named trained generators.

    python -m sr_keras.pretrained list                      # one line per preset
    python -m sr_keras.pretrained list --full               # the markdown table: results, links, licences
    python -m sr_keras.pretrained download edsr_baseline_x4 # fetch and convert once, print the .keras path
    python -m sr_keras.pretrained download edsr_baseline_x4 --weights=edsr_baseline_x4-6b446fab.pt  # offline

`download` fills the cache (`$SR_KERAS_CACHE`, else `~/.cache/sr_keras`), so that later runs with
`--pretrained=NAME` need neither the network nor torch.
"""
import sys

from absl import app, flags

from sr_keras.cli.common import entry_point

# Its own flags, apart from absl's global ones: `--weights` means another thing to the commands that load a model.
FLAGS = flags.FlagValues()
flags.DEFINE_bool("full", False, "list: the markdown table (results, links, licences) instead of one line each",
                  flag_values=FLAGS)
flags.DEFINE_string("weights", None, "download: the preset's original file, already on disk (offline; one NAME)",
                    flag_values=FLAGS)

USAGE = "usage: python -m sr_keras.pretrained list [--full] | download NAME [NAME ...] [--weights=FILE]"


def main(argv):
    action, names = (argv[1], argv[2:]) if len(argv) > 1 else (None, [])
    if action == "download" and not names:
        raise app.UsageError(f"download needs the NAME of a preset (python -m sr_keras.pretrained list); {USAGE}")
    if action not in ("list", "download"):
        raise app.UsageError(f"{'unknown action ' + repr(action) + '; ' if action else ''}{USAGE}")
    if action == "list" and names:
        raise app.UsageError(f"list takes no NAME; {USAGE}")
    if action == "download" and FLAGS.weights and len(names) != 1:
        raise app.UsageError("--weights goes with exactly one NAME (the preset whose file it is)")
    from sr_keras import pretrained  # TensorFlow: after the usage errors

    if action == "list":
        print(pretrained.table() if FLAGS.full else pretrained.listing())
        return 0
    for name in names:
        try:
            path = pretrained.model_path(name, weights=FLAGS.weights)
        except (ValueError, FileNotFoundError, PermissionError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"{name}: {path}")
    return 0


run = entry_point(main, positional=True)  # the console script sr-pretrained


if __name__ == "__main__":
    run()
