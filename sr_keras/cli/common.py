"""What the command-line entry points share: `run_cli` (flags parsed with one-line errors, exit codes, quiet
TensorFlow), flags generated from the training config, the mapping of library errors to flag names, and model
loading with clear errors. Only CLI modules import this module. It imports no TensorFlow itself (a command
that needs none, `download_div2k`, starts at once); the units it calls import it quietly.

Exit codes of every command: 0 success (and --help); 2 an error the user can fix (a bad flag or input, named in
one line starting with "error:"); 1 an unexpected internal error (one line; --verbose shows the traceback);
130 / 143 training interrupted by SIGINT / SIGTERM after saving a checkpoint.
"""
import dataclasses
import functools
import gc
import os
import sys
import typing

from sr_keras import checks
from sr_keras.checks import ConfigError


HELP_FLAGS = ("-h", "-?", "--help", "--helpshort", "--helpfull")


def _parse_flags(argv, command):
    """absl's parse with our conventions: --help prints the usage of the module `command` and exits 0; a bad or
    missing flag is one line ("error: ...") and exit 2, instead of absl's two lines and exit 1."""
    from absl import app, flags

    if "--helpfull" in argv[1:]:
        app.usage(shorthelp=False, writeto_stdout=True)
        sys.exit(0)
    own = _flag_values(command)
    if any(arg in HELP_FLAGS for arg in argv[1:]):
        # absl files a module's flags under its name, or under the script's path when it runs as __main__
        key = command.__name__ if command.__name__ != "__main__" else getattr(command, "__file__", argv[0])
        try:
            print(command_help(own, command.__doc__ or "", key), flush=True)
        except BrokenPipeError:  # `--help | head`: the reader has gone; exit without a traceback
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    try:
        if own is not flags.FLAGS:
            flags.FLAGS(argv[:1])  # absl's own flags at their defaults; the command's are its own
        return own(argv)
    except flags.Error as error:
        print(f"error: {error} (--help lists the flags)", file=sys.stderr)
        sys.exit(2)


def _flag_values(command):
    """The `FlagValues` of the command module: its own `FLAGS` when it keeps its flags apart (a command whose
    flag names other commands use differently, tested in the same process), else absl's global one."""
    from absl import flags

    own = getattr(command, "FLAGS", flags.FLAGS)
    return own if isinstance(own, flags.FlagValues) else flags.FLAGS


def _shown(value):
    """A default as a user types it on the command line: true/false, comma-separated lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def command_help(flag_values, doc, main_file):
    """The text of --help: the command's docstring, then every flag the command defines, grouped (the command's
    own first, then the groups its helpers define, e.g. "model" or the training config's sections), each with
    its default where it has one. absl's and TensorFlow's own flags are left to --helpfull.

    Args:
        flag_values: the parsed command's `absl.flags.FLAGS`.
        doc: the command module's docstring.
        main_file: the key absl files the command's flags under (its module name, or its file as __main__).
    """
    import textwrap

    groups = flag_values.flags_by_module_dict()
    lines = [doc.strip(), ""]
    for module in sorted(groups, key=lambda m: m != main_file):  # the command's own flags first
        third_party = "." in module and not module.startswith("sr_keras")  # absl's, TensorFlow's
        if (module != main_file and third_party) or not groups[module]:
            continue
        title = "flags" if module == main_file else ("general" if module.startswith("sr_keras") else module)
        lines.append(f"{title}:")
        for flag in sorted(groups[module], key=lambda f: f.name):
            text = f"--{flag.name}: {flag.help}"
            if flag.default is not None and not (isinstance(flag.default, (list, tuple)) and not flag.default):
                text += f" (default: {_shown(flag.default)})"
            lines.extend(textwrap.wrap(text, 100, initial_indent="  ", subsequent_indent="      ",
                                       break_on_hyphens=False))
        lines.append("")
    lines.append("--helpfull also lists absl's and TensorFlow's own flags (logging, --flagfile, ...).")
    return "\n".join(lines)


def run_cli(main, positional=False):
    """Runs an absl `main(argv) -> exit code` as a command: flags by `_parse_flags`, absl's log at WARNING,
    `app.UsageError` as one line and exit 2, any other exception as one line and exit 1 (with --verbose, its
    traceback). Without `positional`, arguments other than flags are refused (one line, exit 2).

    TensorFlow's start-up lines were filtered when the package was imported (`sr_keras/__init__.py`, which also
    lists the physical devices there for the "failed call to cuInit" line of machines without a GPU).
    """
    from absl import app, flags, logging

    from sr_keras._quiet import verbose

    own = _flag_values(sys.modules[main.__module__])
    for flag_values in {id(own): own, id(flags.FLAGS): flags.FLAGS}.values():
        if "verbose" not in flag_values:
            flags.DEFINE_bool("verbose", False, "show full tracebacks and TensorFlow's logs", flag_values=flag_values)

    def wrapped(argv):
        logging.set_verbosity(logging.WARNING)
        try:
            if not positional and len(argv) > 1:
                raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
            return main(argv)
        except app.UsageError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as error:  # noqa: BLE001 - the one line a user sees for a bug of ours
            if verbose() or own.verbose:
                raise
            text = str(error).strip().splitlines()
            print(f"error: internal error: {type(error).__name__}: {text[0] if text else ''} (run with --verbose "
                  f"for the traceback)", file=sys.stderr)
            return 1
        finally:
            # The command is done and the process exits next: the collector need not sweep TensorFlow's objects
            # once more at exit (1.6 s of each command's end on the 2-core test machine). Files are closed and
            # outputs renamed into place before this point; the modules are still torn down as usual.
            gc.freeze()

    app.run(wrapped, flags_parser=lambda argv: _parse_flags(argv, sys.modules[main.__module__]))


def entry_point(main, positional=False):
    """The function a console script `sr-<command>` (and `python -m sr_keras.<command>`) calls: `run_cli(main)`."""
    return functools.partial(run_cli, main, positional=positional)


def _exit_at_once(signum, frame):
    """A signal while the process exits after an interrupt: nothing is left to save, so exit now."""
    os.write(2, b"interrupted again: exiting without saving\n")
    os._exit(128 + signum)


def exit_interrupted(interrupted, module):
    """Prints a `TrainingInterrupted`'s one line with the command that resumes (`python -m <module>` and this
    process's arguments) and exits with 128 + the signal number at once: the interpreter's teardown
    (TensorFlow's threads) takes seconds in which a second signal would go unheard; everything is saved."""
    import shlex
    import signal

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_at_once)
    resume = "" if interrupted.again else f"; resume with: {shlex.join(['python', '-m', module, *sys.argv[1:]])}"
    print(f"{interrupted}{resume}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(interrupted.exit_code)


def define_model_flags(flag_values, model_path_help="the generator's .keras file"):
    """--model_path, --pretrained and --weights, shared by the CLIs that run a generator."""
    from absl import flags

    group = {"module_name": "model"}
    flags.DEFINE_string("model_path", None, model_path_help, flag_values=flag_values, **group)
    flags.DEFINE_string("pretrained", None, "a named trained model (python -m sr_keras.pretrained list): shipped "
                        "with the package, or the authors' published file, downloaded and converted once",
                        flag_values=flag_values, **group)
    flags.DEFINE_string("weights", None, "with --pretrained: the preset's file given by hand (the original "
                        "checkpoint or a converted .keras file), used offline", flag_values=flag_values, **group)
    flags.DEFINE_float("denoise_strength", None, "with --pretrained=realesr_general_x4v3: Real-ESRGAN's -dn, from 0 "
                       "(keep noise: realesr_general_wdn_x4v3's weights) to 1 (its own); default 0.5 as "
                       "Real-ESRGAN; with --weights the wdn file must lie beside it", flag_values=flag_values,
                       **group)


def load_model_from_flags(flag_values, required=True):
    """(model, label) of --model_path or --pretrained (+ --weights); (None, None) when neither is given and
    `required` is False.

    Raises:
        ValueError / FileNotFoundError: both or neither given, --weights without --pretrained, an unknown
        preset, or a file that cannot be loaded (the message names the flag or the file).
    """
    model_path, name, weights = flag_values.model_path, flag_values.pretrained, flag_values.weights
    if model_path and name:
        raise ValueError("give --model_path or --pretrained, not both")
    strength = flag_values.denoise_strength
    if weights and not name:
        raise ValueError("--weights goes with --pretrained=NAME (the preset whose file it is)")
    if strength is not None and not name:
        raise ValueError("--denoise_strength goes with --pretrained=realesr_general_x4v3")
    if model_path:
        checks.model_file(model_path)  # before TensorFlow: a missing file is reported at once
        from sr_keras.models.saving import load_generator

        return load_generator(model_path), model_path
    if name:
        from sr_keras import pretrained

        return pretrained.load(name, weights=weights, denoise_strength=strength), name
    if required:
        raise ValueError("give the model: --model_path=FILE.keras or --pretrained=NAME "
                         "(python -m sr_keras.pretrained list)")
    return None, None


def check_scale(model, scale, path):
    """The model's scale; raises ValueError if `scale` (when given) contradicts it."""
    from sr_keras.inference import infer_scale

    actual = infer_scale(model)
    if scale is not None and scale != actual:
        raise ValueError(f"--scale={scale} contradicts the model {path}, which upscales x{actual}")
    return actual


def _base_type(annotation):
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if args else annotation


def define_dataclass_flags(sections, flag_values, defaults=None):
    """Defines one absl flag per field of the dataclasses in `sections` (name: the field's metadata "flag" or
    its own name; help and choices from its metadata). Every flag defaults to None ("not set"), unless
    `defaults` ({flag: value}) says otherwise, so library defaults and recipes apply to what the user leaves
    unset; a field's own default is named in its help. `sections` is {group name: dataclass} (the groups of
    --help) or a list of dataclasses (grouped by class name)."""
    from absl import flags

    defaults = defaults or {}
    if not isinstance(sections, dict):
        sections = {cls.__name__: cls for cls in sections}
    for group, cls in sections.items():
        for field in dataclasses.fields(cls):
            name = field.metadata.get("flag", field.name)
            default, help_text = defaults.get(name), field.metadata.get("help", "")
            if default is None and field.default is not None and field.default is not dataclasses.MISSING:
                help_text += f" (unset: the recipe's value, else {_shown(field.default)})"
            kind = _base_type(field.type)
            common = dict(flag_values=flag_values, module_name=group)
            if field.metadata.get("choices"):
                flags.DEFINE_enum(name, default, list(field.metadata["choices"]), help_text, **common)
            elif kind is bool:
                flags.DEFINE_bool(name, default, help_text, **common)
            elif kind is int:
                flags.DEFINE_integer(name, default, help_text, **common)
            elif kind is float:
                flags.DEFINE_float(name, default, help_text, **common)
            elif kind is tuple:
                flags.DEFINE_list(name, default, help_text, **common)
            else:
                flags.DEFINE_string(name, default, help_text, **common)


def _parse_item(text, item, name):
    if item is int:
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is None or not number.is_integer():
            raise ConfigError(name, f"must be a list of integers, got {text!r}")
        return int(number)
    if item is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(name, f"must be a list of numbers, got {text!r}") from None
    return text


def dataclass_flag_values(sections, flag_values):
    """{flag name: value} of the flags of `sections` that are set (not None); list flags become tuples of the
    field's item type ("2e5" is read as the integer 200000)."""
    values = {}
    for cls in sections:
        for field in dataclasses.fields(cls):
            name = field.metadata.get("flag", field.name)
            value = flag_values[name].value
            if value is None:
                continue
            if _base_type(field.type) is tuple:
                value = tuple(_parse_item(v, field.metadata.get("item"), name) for v in value if v != "")
            values[name] = value
    return values


def flag_error(error):
    """The one-line message for a library error: a `ConfigError`'s field becomes its `--flag`."""
    if isinstance(error, ConfigError):
        return f"--{error.field}: {error.message}"
    return str(error)
