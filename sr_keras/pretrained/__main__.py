"""`python -m sr_keras.pretrained`: the command `sr_keras.cli.pretrained` (installed as `sr-pretrained` too)."""
if __name__ == "__main__":
    from sr_keras.cli.pretrained import run

    run()
