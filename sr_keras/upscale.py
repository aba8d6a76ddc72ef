"""`python -m sr_keras.upscale`: the command `sr_keras.cli.upscale` (installed as `sr-upscale` too)."""
if __name__ == "__main__":
    from sr_keras.cli.upscale import run

    run()
