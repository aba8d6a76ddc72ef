"""Keeping TensorFlow's start-up noise off the user's terminal.

Importing TensorFlow 2.21 prints about six lines from its C++ logging before that logging is initialised
("WARNING: All log messages before absl::InitializeLog() ...", "oneDNN custom operations are on", "Could not
find cuda drivers"), twice, and the first device set-up on a machine without a GPU prints a "failed call to
cuInit" error line. `TF_CPP_MIN_LOG_LEVEL` does not reach these (they come before absl's log is set up), so
`filtered_stderr()` lets them pass through a pipe during the import or the device set-up and drops those
lines, writing every other line through unchanged. `SR_KERAS_VERBOSE=1` (or `--verbose` on a command line)
keeps them.
"""
import contextlib
import os
import re
import sys
import threading

VERBOSE_VARIABLE = "SR_KERAS_VERBOSE"

_NOISE = (
    re.compile(rb"^[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ (port|cudart_stub|cpu_feature_guard|cuda_platform|"
               rb"cuda_executor|cuda_dnn|cuda_fft|cuda_blas|gpu_device)\.cc:\d+\]"),
    re.compile(rb"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"),
    re.compile(rb"^To enable the following instructions: .* in other operations, rebuild TensorFlow"),
    # the LiteRT converter's and interpreter's lines (`upscale --fast` making and loading an int8 export)
    re.compile(rb"^fully_quantize: \d+, inference_type: \d+, input_inference_type: "),
    re.compile(rb"^INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.$"),
)


def verbose():
    """Whether the user asked to see everything (SR_KERAS_VERBOSE=1, or --verbose on the command line)."""
    return os.environ.get(VERBOSE_VARIABLE, "") not in ("", "0") or "--verbose" in sys.argv[1:]


# Any line of TensorFlow's C++ logging (absl format: severity, date, time, thread, file:line]).
_NATIVE_LOG = re.compile(rb"^[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.]+:\d+\]")


def _is_noise(line, native_logs):
    return any(pattern.search(line) for pattern in _NOISE) or (native_logs and _NATIVE_LOG.search(line))


@contextlib.contextmanager
def filtered_stderr(native_logs=False):
    """Within the block, file descriptor 2 goes through a pipe; TensorFlow's start-up lines are dropped and
    every other line is written to the real stderr when the block ends. With `native_logs`, every line of
    TensorFlow's C++ logging is dropped too (the LiteRT converter's dozen lines about its SavedModel). Does
    nothing when verbose or when the process has no file descriptor 2."""
    try:
        os.fstat(2)  # Jupyter kernels replace sys.stderr but keep descriptor 2, where TensorFlow's C++ writes
        has_fd = True
    except OSError:
        has_fd = False
    if verbose() or not has_fd:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    read_end, write_end = os.pipe()
    chunks = []

    def drain():
        while True:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last write end closes: the reader sees the end
        os.close(saved)
        reader.join()
        os.close(read_end)
        kept = [line for line in b"".join(chunks).splitlines(keepends=True) if not _is_noise(line, native_logs)]
        if kept:
            os.write(2, b"".join(kept))


def import_tensorflow():
    """Imports TensorFlow, if nothing has yet, with its start-up lines filtered, and lists the physical devices
    (the first listing prints "failed call to cuInit" on machines without a GPU; listing does not initialise
    the devices, so memory growth and visible devices can still be set afterwards).

    `import sr_keras` does not import TensorFlow; each unit that uses it calls this before its first TensorFlow
    or Keras import, so whichever unit comes first imports it quietly.
    """
    if "tensorflow" in sys.modules:
        return
    with filtered_stderr():
        import tensorflow

        tensorflow.config.list_physical_devices()
