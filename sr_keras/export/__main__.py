"""`python -m sr_keras.export`: the command `sr_keras.cli.export` (installed as `sr-export` too)."""
if __name__ == "__main__":
    from sr_keras.cli.export import run

    run()
