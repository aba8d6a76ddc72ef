"""Named trained generators.

    python -m sr_keras.pretrained list      # the table of presets
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv):
    if argv[1:] != ["list"]:
        print("usage: python -m sr_keras.pretrained list", file=sys.stderr)
        return 2
    from sr_keras import pretrained

    print(pretrained.table())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
