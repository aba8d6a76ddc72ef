"""Writing files and folders so that a crash never leaves a half-written output.

Every output of the package (models, images, JSON, SavedModels) goes through `atomic_path`: the data is
written under a temporary name in the destination folder and renamed into place, which is atomic on POSIX
file systems. The result gets the permissions the user's umask gives an ordinary file or folder (temporary
files would otherwise keep `mkstemp`'s private 0600 mode).
"""
import contextlib
import json
import os
import shutil
import tempfile


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish(temporary, path, directory):
    mode = (0o777 if directory else 0o666) & ~_umask()
    os.chmod(temporary, mode)
    if directory:
        for root, dirs, files in os.walk(temporary):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o777 & ~_umask())
            for name in files:
                os.chmod(os.path.join(root, name), 0o666 & ~_umask())
        if os.path.isdir(path):
            shutil.rmtree(path)
    os.replace(temporary, path)


@contextlib.contextmanager
def atomic_path(path, directory=False):
    """Yields a temporary path beside `path`; renames it to `path` when the block ends without an error.

    Args:
        path: the final file (or folder, with `directory=True`; an existing folder there is replaced).
        directory: yield an empty temporary folder instead of a file name.

    On an error (or KeyboardInterrupt) the temporary file or folder is removed and `path` is left as it was.
    """
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    name = os.path.basename(path)
    if directory:
        temporary = tempfile.mkdtemp(prefix=f".{name}.partial-", dir=parent)
    else:
        stem, extension = os.path.splitext(name)
        handle, temporary = tempfile.mkstemp(prefix=f".{stem}.partial-", suffix=extension, dir=parent)
        os.close(handle)
    try:
        yield temporary
        _publish(temporary, path, directory)
    except BaseException:
        if os.path.isdir(temporary):
            shutil.rmtree(temporary, ignore_errors=True)
        elif os.path.exists(temporary):
            os.remove(temporary)
        raise


def write_json(data, path):
    """Writes `data` as indented JSON to `path`, atomically."""
    with atomic_path(path) as temporary:
        with open(temporary, "w") as handle:
            json.dump(data, handle, indent=2)
    return path


def save_keras(model, path):
    """Saves a Keras model to `path` (.keras), atomically."""
    with atomic_path(path) as temporary:
        model.save(temporary)
    return path


def check_writable_dir(directory):
    """Creates `directory` if needed; raises PermissionError if files cannot be written there."""
    directory = os.fspath(directory)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as error:
        raise PermissionError(f"cannot create output directory {directory}: {error.strerror}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(f"output directory is not writable: {directory}")
    return directory
