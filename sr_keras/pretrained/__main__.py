"""Named trained generators.

    python -m sr_keras.pretrained list                      # one line per preset
    python -m sr_keras.pretrained list --full               # the markdown table: results, links, licences
    python -m sr_keras.pretrained download edsr_baseline_x4 # fetch and convert once, print the .keras path
    python -m sr_keras.pretrained download edsr_baseline_x4 --weights=edsr_baseline_x4-6b446fab.pt  # offline

`download` fills the cache (`$SR_KERAS_CACHE`, else `~/.cache/sr_keras`), so that later runs with
`--pretrained=NAME` need neither the network nor torch.
"""
import sys

USAGE = "usage: python -m sr_keras.pretrained list [--full] | download NAME [NAME ...] [--weights=FILE]"


def main(argv):
    args = argv[1:]
    if any(arg in ("-h", "--help", "--helpshort", "--helpfull") for arg in args):
        print(__doc__.strip() + "\n\n" + USAGE)
        return 0
    if args in (["list"], ["list", "--full"]):
        from sr_keras import pretrained

        print(pretrained.table() if "--full" in args else pretrained.listing())
        return 0
    if not args or args[0] != "download" or len(args) < 2:
        print(USAGE, file=sys.stderr)
        return 2
    names = [a for a in args[1:] if not a.startswith("--")]
    options = [a for a in args[1:] if a.startswith("--")]
    weights = None
    for option in options:
        if not option.startswith("--weights="):
            print(f"error: unknown option {option}; {USAGE}", file=sys.stderr)
            return 2
        weights = option[len("--weights="):]
    if weights and len(names) != 1:
        print("error: --weights goes with exactly one NAME (the preset whose file it is)", file=sys.stderr)
        return 2
    from sr_keras import pretrained

    for name in names:
        try:
            path = pretrained.model_path(name, weights=weights)
        except (ValueError, FileNotFoundError, PermissionError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
