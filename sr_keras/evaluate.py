"""`python -m sr_keras.evaluate`: the command `sr_keras.cli.evaluate` (installed as `sr-evaluate` too)."""
if __name__ == "__main__":
    from sr_keras.cli.evaluate import run

    run()
