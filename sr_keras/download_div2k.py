"""`python -m sr_keras.download_div2k`: the command `sr_keras.cli.download_div2k` (installed as `sr-download-div2k`
too)."""
if __name__ == "__main__":
    from sr_keras.cli.download_div2k import run

    run()
