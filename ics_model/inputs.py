"""Reading what users give: one error family, regular files only, size limits, short echoes.

Every failure to read a user's input -- a data file, a config, a rule set, a manifest --
raises an :class:`InputError`: :class:`SourceReadError` when a file cannot be read at
all (missing, a device or named pipe, too large, not the format it claims), and, in
their own modules, ``DataContractError`` (the content breaks a contract, by row and
column) and ``ConfigError`` (a config key is invalid, by key path). The command line
turns each into one message and exit code 2.

Files are opened without blocking and must be regular files: a named pipe, a terminal
or a device such as ``/dev/zero`` would otherwise hang the reader or never end. Limits
(:data:`MAX_INPUT_BYTES`, :data:`MAX_TEXT_BYTES`, :data:`MAX_FIELD_CHARS`) are far above
any real file and stop a file given by mistake from exhausting memory. A message never
echoes more than :data:`MAX_ECHO` characters of any input value (:func:`echo`,
:func:`clip`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Final

#: the most characters of any input value a message repeats
MAX_ECHO: Final = 200
#: the largest data file read (2 GiB; CQC's whole-country Locations sheet is ~100 MB)
MAX_INPUT_BYTES: Final = 2 * 1024**3
#: the largest config, rule set, scenario file or manifest read (10 MiB; a config is ~5 KB)
MAX_TEXT_BYTES: Final = 10 * 1024**2
#: the longest field of a data file, in characters (a spreadsheet cell holds 32,767)
MAX_FIELD_CHARS: Final = 100_000


class InputError(Exception):
    """Base of every error about an input a user gave (file, row or line, column, key)."""


class SourceReadError(InputError, OSError):
    """A file could not be read (missing, unreadable, truncated, wrong format, too large).

    ``path`` is the file and ``reason`` says why, with the line and column of a fault
    in its text; the message is ``"cannot read <path>: <reason>"``.
    """

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read {path}: {reason}")

    def __reduce__(self):
        """Pickle by path and reason (OSError would pickle the message alone)."""
        return (type(self), (self.path, self.reason))


def clip(text: str, limit: int = MAX_ECHO) -> str:
    """Return ``text`` cut to ``limit`` characters, saying how much was left out.

    Examples
    --------
    >>> clip("abc", 5)
    'abc'
    >>> clip("x" * 300)[-32:]
    'xxxxxxx... (100 more characters)'
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def echo(value: object, limit: int = MAX_ECHO) -> str:
    """Return ``repr(value)`` for a message, its text cut to ``limit`` characters.

    Examples
    --------
    >>> echo("Good")
    "'Good'"
    >>> len(echo("y" * 10**6)) < 240
    True
    """
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value) - limit:,} more characters)"
    return clip(repr(value), limit + 2)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def regular_file_problem(path: str | Path, limit: int = MAX_INPUT_BYTES) -> str | None:
    """Why ``path`` cannot be read as an input file, or None when it can (a stat, no open).

    Links are followed. A missing file, a folder, a named pipe, a device or socket, and
    a file larger than ``limit`` bytes each get a reason.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return exc.strerror or str(exc)
    return _stat_problem(st, limit)


def _stat_problem(st: os.stat_result, limit: int) -> str | None:
    if not stat.S_ISREG(st.st_mode):
        return f"not a regular file but {_kind(st.st_mode)}"
    if st.st_size > limit:
        return f"the file is {st.st_size:,} bytes, more than the {limit:,} read"
    return None


@contextmanager
def open_input(path: str | Path, limit: int = MAX_INPUT_BYTES) -> Iterator[BinaryIO]:
    """Open a regular file for reading, without blocking on a named pipe or a device.

    The file is opened non-blocking, then checked on its open handle (so a file swapped
    after a check is still checked): it must be a regular file of at most ``limit``
    bytes.

    Raises
    ------
    SourceReadError
        Missing, not readable, not a regular file, or larger than ``limit``.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise SourceReadError(path, "no such file") from None
    except OSError as exc:
        raise SourceReadError(path, exc.strerror or str(exc)) from None
    try:
        problem = _stat_problem(os.fstat(fd), limit)
        if problem is not None:
            raise SourceReadError(path, problem)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        yield fh


def read_input(path: str | Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    """Return the bytes of a regular file of at most ``limit`` bytes (see :func:`open_input`)."""
    with open_input(path, limit) as fh:
        try:
            return fh.read()
        except OSError as exc:
            raise SourceReadError(path, exc.strerror or str(exc)) from None
