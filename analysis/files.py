"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Examples:
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> atomic_write(target, b"hello")
    >>> target.read_bytes()
    b'hello'
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write"]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` atomically.

    On an exception the temporary file is removed and ``target`` is left as it was. A symlink is followed (the
    file it names is replaced, the link stays); a pipe or a device is written directly; a directory is an error.
    """
    target = Path(os.path.realpath(target))  # through a symlink to the file it names, as `>` would
    if target.is_dir():
        raise IsADirectoryError(21, "is a directory, not a file", str(target))
    if target.exists() and not target.is_file():
        # A pipe or a device (/dev/stdout): there is nothing to replace atomically; write to it directly.
        yield target
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates 0600; give the file the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(target: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``target`` atomically (temporary file in the same folder, fsync, rename)."""
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        if tmp.is_file():  # pipes and devices cannot be fsynced
            os.fsync(handle.fileno())
