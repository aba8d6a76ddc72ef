"""`python -m sr_keras.mmsr`: the command `sr_keras.cli.mmsr` (installed as `sr-mmsr` too)."""
if __name__ == "__main__":
    from sr_keras.cli.mmsr import run

    run()
