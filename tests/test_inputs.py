"""Tests for ics_model.inputs: the error family, regular files only, limits, short echoes."""

from __future__ import annotations

import os
import pickle
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ics_model.config import ConfigError
from ics_model.contracts import DataContractError
from ics_model.data.base import SourceReadError as ReExported
from ics_model.inputs import (
    MAX_ECHO,
    InputError,
    SourceReadError,
    clip,
    echo,
    open_input,
    read_input,
    regular_file_problem,
)


def test_every_reader_error_is_an_input_error():
    assert ReExported is SourceReadError
    for error in (SourceReadError, DataContractError, ConfigError):
        assert issubclass(error, InputError)
    assert issubclass(SourceReadError, OSError)  # callers catching OSError still do
    assert issubclass(DataContractError, ValueError) and issubclass(ConfigError, ValueError)


def test_source_read_error_pickles_with_path_and_reason():
    err = pickle.loads(pickle.dumps(SourceReadError("/x/a.csv", "no such file")))
    assert (err.path, err.reason, str(err)) == (
        "/x/a.csv",
        "no such file",
        "cannot read /x/a.csv: no such file",
    )


def test_clip_and_echo_by_hand():
    assert clip("abc", 5) == "abc"
    assert clip("abcdefg", 3) == "abc... (4 more characters)"
    assert echo("Good") == "'Good'"
    assert echo("y" * 1000) == repr("y" * MAX_ECHO) + "... (800 more characters)"
    assert echo(None) == "None"


@given(st.text(max_size=2000))
def test_echo_never_repeats_more_than_the_limit(text):
    shown = echo(text)
    assert len(shown) <= 4 * MAX_ECHO + 40  # repr may escape characters
    if len(text) <= MAX_ECHO:
        assert shown == repr(text)


def test_regular_files_are_read(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"a,b\n1,2\n")
    assert regular_file_problem(path) is None
    assert read_input(path) == b"a,b\n1,2\n"
    link = tmp_path / "link.csv"
    link.symlink_to(path)
    assert read_input(link) == b"a,b\n1,2\n"  # links are followed to a regular file


def test_special_files_are_named(tmp_path):
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    assert regular_file_problem(tmp_path) == "not a regular file but a folder"
    assert regular_file_problem(pipe) == "not a regular file but a named pipe (FIFO)"
    assert regular_file_problem("/dev/null") == "not a regular file but a device"
    assert regular_file_problem(tmp_path / "absent") == "no such file"


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    outcome = []

    def read():
        try:
            read_input(pipe)
        except SourceReadError as exc:
            outcome.append(exc.reason)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "opening a named pipe blocked"
    assert outcome == ["not a regular file but a named pipe (FIFO)"]


def test_devices_and_missing_files_raise_source_read_error(tmp_path):
    with pytest.raises(SourceReadError, match="a device"):
        read_input("/dev/zero")
    with pytest.raises(SourceReadError, match="no such file"):
        read_input(tmp_path / "absent.csv")


def test_size_limit(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * 11)
    assert read_input(path, limit=11) == b"x" * 11
    with pytest.raises(SourceReadError, match="the file is 11 bytes, more than the 10 read"):
        read_input(path, limit=10)
    with pytest.raises(SourceReadError, match="more than the 10 read"), open_input(path, 10):
        pass
