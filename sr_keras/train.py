"""`python -m sr_keras.train`: the command `sr_keras.cli.train` (installed as `sr-train` too)."""
if __name__ == "__main__":
    from sr_keras.cli.train import run

    run()
