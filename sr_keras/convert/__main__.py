"""`python -m sr_keras.convert`: the command `sr_keras.cli.convert` (installed as `sr-convert` too)."""
if __name__ == "__main__":
    from sr_keras.cli.convert import run

    run()
