"""The tests' way to run the package's commands in their own processes without importing TensorFlow each time.

A command-line test runs the command in a separate process: its flags, exit code, stdout and stderr, the files it
writes and the signals it receives are the user's. Started as `python -m sr_keras.train ...`, such a process
spends 6-9 s of this 2-core machine importing TensorFlow and Keras before it reads its first flag, and the suite
starts many of them.

`run` and `Popen` take the arguments of `subprocess.run` and `subprocess.Popen`. A command of the form
`[sys.executable, "-m", module, ...]`, `[sys.executable, "-c", code, ...]` or `[sys.executable, "script.py", ...]`
is forked from a launcher process (one per test process) that imported TensorFlow, Keras, NumPy, Pillow and absl
once, with the start-up lines filtered as `sr_keras._quiet.import_tensorflow` filters them, and of sr_keras only
that light module. The child then is what `python -m module args` would be after that import:
its own process (its pid takes signals), the test's working directory, environment and standard streams,
`sys.argv` and `sys.path[0]` as the interpreter sets them, the module run as `__main__`, the interpreter's own
exit (exit code, traceback of an uncaught exception, death by an unhandled SIGINT). The first device listing,
which `import_tensorflow` does in a fresh process, is done in the child with the child's environment.

Everything else starts a fresh interpreter, as `subprocess` would: other programs, `fresh=True`, and environments
that differ from the launcher's in a variable read while TensorFlow and Keras are imported (`KERAS_HOME`, `HOME`,
`TF_ENABLE_ONEDNN_OPTS`, ...: `_IMPORT_TIME`), so a child never sees a setting of the launcher's in place of its
own. Tests about the interpreter's start itself (that an error comes before TensorFlow is imported, that
TensorFlow's start-up lines stay off stderr, a console script, the README's own commands, peak memory) use
`subprocess` directly. `SR_KERAS_TEST_FRESH=1` makes every call here start a fresh interpreter, to run the same
tests the slow way.
"""
import atexit
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

PIPE, DEVNULL, STDOUT = subprocess.PIPE, subprocess.DEVNULL, subprocess.STDOUT
FRESH_VARIABLE = "SR_KERAS_TEST_FRESH"

# Environment variables read while Python starts or TensorFlow and Keras are imported: Keras fixes its cache
# directory from KERAS_HOME or HOME at import, TensorFlow reads its oneDNN and logging settings and sizes nothing
# else before it runs an operation; sr_keras reads SR_KERAS_VERBOSE when it filters the start-up lines. A request
# whose environment differs from the launcher's in one of these runs in a fresh interpreter.
_IMPORT_TIME = ("HOME", "KERAS_HOME", "KERAS_BACKEND", "TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL",
                "TF_CPP_MAX_VLOG_LEVEL", "TF_CPP_VMODULE", "SR_KERAS_VERBOSE", "PYTHONPATH", "PYTHONHASHSEED",
                "PYTHONWARNINGS", "PYTHONSAFEPATH", "PYTHONUTF8", "PYTHONIOENCODING", "LD_LIBRARY_PATH", "LD_PRELOAD",
                "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TMPDIR", "LANG", "LC_ALL")

_MESSAGE_BYTES = 1 << 20


def _import_time_settings(env):
    return {name: env[name] for name in _IMPORT_TIME if name in env}


# ---------------------------------------------------------------------------------------------- the launcher


def _serve(control):
    """The launcher's loop: each request on `control` is forked; the parent reports each child's pid and, when it
    ends, its wait status. Returns only in a child, with its request and standard stream descriptors."""
    children = {}  # pid -> the socket its status goes to
    while True:
        for pid in list(children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                reply = children.pop(pid)
                try:
                    reply.sendall(json.dumps({"status": status}).encode())
                except OSError:
                    pass  # the test stopped waiting
                reply.close()
        try:
            control.settimeout(0.05)
            message, fds, _, _ = socket.recv_fds(control, _MESSAGE_BYTES, 4)
        except TimeoutError:
            continue
        if not message:  # the test process ended
            return None
        reply = socket.socket(fileno=fds[0])
        pid = os.fork()
        if pid == 0:
            control.close()
            for other in children.values():
                other.close()
            reply.close()
            return json.loads(message), fds[1:]
        for fd in fds[1:]:
            os.close(fd)
        reply.sendall(json.dumps({"pid": pid}).encode())
        children[pid] = reply


def _become(request, fds):
    """In a forked child: takes the test's streams, directory, environment and arguments, then runs the command
    as the interpreter would run it (this function returns into the launcher script's end, where the interpreter
    exits as after any program)."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in set(fds):
        os.close(fd)
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(request["env"])
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from sr_keras._quiet import filtered_stderr
    import tensorflow as tf

    with filtered_stderr():
        tf.config.list_physical_devices()
    import runpy
    import types

    command = request["argv"][1:]
    if command[0] == "-m":
        sys.argv = ["-m", *command[2:]]  # runpy sets argv[0] to the module's file, as the interpreter does
        sys.path[0] = os.getcwd()
        runpy.run_module(command[1], run_name="__main__", alter_sys=True)
    elif command[0] == "-c":
        sys.argv = ["-c", *command[2:]]
        sys.path[0] = ""
        main = types.ModuleType("__main__")
        main.__builtins__ = __builtins__
        sys.modules["__main__"] = main
        exec(compile(command[1], "<string>", "exec"), main.__dict__)
    else:  # python path/to/script.py ...
        sys.argv = list(command)
        sys.path[0] = os.path.dirname(os.path.abspath(command[0]))
        runpy.run_path(command[0], run_name="__main__")


def _launcher_main():
    control = socket.socket(fileno=int(sys.argv[1]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a ^C of pytest is for pytest; the children reset it
    from sr_keras._quiet import filtered_stderr

    with filtered_stderr():  # as sr_keras._quiet.import_tensorflow imports TensorFlow, without the device listing
        import keras  # noqa: F401
        import numpy  # noqa: F401
        import tensorflow  # noqa: F401
        from absl import app, flags  # noqa: F401
        from PIL import Image  # noqa: F401
    # The imported modules stay for the launcher's life, and each child inherits them: the garbage collector leaves
    # them alone (Python's advice before fork()). A child then exits in 0.3-0.5 s instead of 1.6-1.8 s, the time its
    # interpreter took to sweep TensorFlow's objects at exit, and its own collections skip them too.
    gc.freeze()
    control.sendall(json.dumps({"ready": True, "settings": _import_time_settings(os.environ)}).encode())
    request = _serve(control)
    if request is not None:
        _become(*request)


# ---------------------------------------------------------------------------------------------- the tests' side


class _Launcher:
    """One launcher per test process, started by `start()` or at the first request."""

    def __init__(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen([sys.executable, os.path.abspath(__file__), str(theirs.fileno())],
                                        pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        theirs.close()
        self.control = ours
        self.lock = threading.Lock()
        self.ready = False

    def _wait_ready(self):
        message = json.loads(self.control.recv(_MESSAGE_BYTES) or b"{}")
        if message.get("ready") is not True:
            raise RuntimeError(f"the test launcher did not start (exit code {self.process.poll()})")
        self.settings = message["settings"]  # as they are after its imports
        self.ready = True

    def differences(self, env):
        """The names of the variables read at start-up in which `env` differs from the launcher's."""
        with self.lock:
            if not self.ready:
                self._wait_ready()
        settings = _import_time_settings(env)
        return sorted(name for name in set(settings) | set(self.settings)
                      if settings.get(name) != self.settings.get(name))

    def launch(self, argv, cwd, env, streams):
        with self.lock:
            if not self.ready:
                self._wait_ready()
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            umask = os.umask(0o022)
            os.umask(umask)
            request = json.dumps({"argv": [os.fspath(a) for a in argv], "cwd": cwd, "env": env, "umask": umask}).encode()
            socket.send_fds(self.control, [request], [theirs.fileno(), *streams])
            theirs.close()
        pid = json.loads(ours.recv(_MESSAGE_BYTES))["pid"]
        return pid, ours

    def close(self):
        self.control.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


_launcher = {"instance": None, "lock": threading.Lock()}


def _get_launcher():
    with _launcher["lock"]:
        if _launcher["instance"] is None:
            _launcher["instance"] = _Launcher()
            atexit.register(_launcher["instance"].close)
        return _launcher["instance"]


def start():
    """Starts this process's launcher now (it takes as long as importing TensorFlow), so the first command need
    not wait for all of it."""
    if not os.environ.get(FRESH_VARIABLE):
        _get_launcher()


def _forkable(args, env, fresh):
    if fresh or os.environ.get(FRESH_VARIABLE) or isinstance(args, (str, bytes)):
        return False
    if len(args) < 2 or args[0] != sys.executable:
        return False
    if str(args[1]) in ("-m", "-c"):
        if len(args) < 3:
            return False
    elif str(args[1]).startswith("-") or not str(args[1]).endswith(".py"):
        return False
    return not _get_launcher().differences(env)


class _Forked:
    """A forked command, with the parts of `subprocess.Popen` the tests use."""

    def __init__(self, args, stdin, stdout, stderr, text, cwd, env):
        self.args = args
        self.returncode = None
        self.stdin = None
        self._readers, self._output = None, {}
        opened = []

        def target(spec, default):
            if spec is None:
                return default
            if spec == DEVNULL:
                fd = os.open(os.devnull, os.O_RDWR)
                opened.append(fd)
                return fd
            if spec == PIPE:
                read_end, write_end = os.pipe()
                opened.append(write_end)
                return read_end, write_end
            return spec if isinstance(spec, int) else spec.fileno()

        def output(spec, default):
            """The child's descriptor for `spec`, and the parent's file to read when `spec` is PIPE."""
            fd = target(spec, default)
            if isinstance(fd, tuple):
                return fd[1], os.fdopen(fd[0], "r" if text else "rb")
            return fd, None

        stdin_fd = target(DEVNULL if stdin is None else stdin, 0)
        out, self.stdout = output(stdout, 1)
        err, self.stderr = (out, None) if stderr == STDOUT else output(stderr, 2)
        try:
            self.pid, self._status = _get_launcher().launch(args, cwd, env, [stdin_fd, out, err])
        finally:
            for fd in opened:
                os.close(fd)

    def poll(self):
        if self.returncode is None:
            self._status.setblocking(False)
            try:
                self._read_status()
            except BlockingIOError:
                pass
            finally:
                self._status.setblocking(True)
        return self.returncode

    def _read_status(self):
        message = self._status.recv(_MESSAGE_BYTES)
        if not message:
            raise RuntimeError(f"the test launcher ended before command {self.args!r}")
        self.returncode = os.waitstatus_to_exitcode(json.loads(message)["status"])
        self._status.close()

    def wait(self, timeout=None):
        if self.returncode is None:
            self._status.settimeout(timeout)
            try:
                self._read_status()
            except TimeoutError:
                self._status.settimeout(None)
                raise subprocess.TimeoutExpired(self.args, timeout) from None
        return self.returncode

    def communicate(self, input=None, timeout=None):
        assert input is None, "the forked commands read no stdin"
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._readers is None:
            self._readers = [threading.Thread(target=self._drain, args=(name, stream), daemon=True)
                             for name, stream in (("stdout", self.stdout), ("stderr", self.stderr))
                             if stream is not None]
            for reader in self._readers:
                reader.start()
        for reader in self._readers:
            reader.join(None if deadline is None else max(deadline - time.monotonic(), 0))
            if reader.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout)
        self.wait(None if deadline is None else max(deadline - time.monotonic(), 0))
        return self._output.get("stdout"), self._output.get("stderr")

    def _drain(self, name, stream):
        self._output[name] = stream.read()
        stream.close()

    def send_signal(self, sig):
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self):
        self.send_signal(signal.SIGTERM)

    def kill(self):
        self.send_signal(signal.SIGKILL)


def Popen(args, stdin=None, stdout=None, stderr=None, text=False, cwd=None, env=None, fresh=False, **kwargs):
    """`subprocess.Popen(args, ...)`; forked from the launcher when `args` is a Python command it can run."""
    env = dict(os.environ if env is None else env)
    if kwargs or not _forkable(args, env, fresh):
        return subprocess.Popen(args, stdin=stdin, stdout=stdout, stderr=stderr, text=text, cwd=cwd, env=env,
                                **kwargs)
    return _Forked(args, stdin, stdout, stderr, text, os.path.abspath(cwd or os.getcwd()), env)


def run(args, capture_output=False, text=False, timeout=None, check=False, cwd=None, env=None, stdout=None,
        stderr=None, fresh=False, **kwargs):
    """`subprocess.run(args, ...)`; forked from the launcher when `args` is a Python command it can run."""
    if capture_output:
        stdout = stderr = PIPE
    process = Popen(args, stdout=stdout, stderr=stderr, text=text, cwd=cwd, env=env, fresh=fresh, **kwargs)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    except BaseException:
        process.kill()
        raise
    result = subprocess.CompletedProcess(args, process.returncode, out, err)
    if check:
        result.check_returncode()
    return result


if __name__ == "__main__":
    _launcher_main()
