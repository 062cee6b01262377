"""The ledger and ``extreme recover`` under bad input (issue 16): one line, exit 2, nothing
undone, no traceback."""

from __future__ import annotations

import fcntl
import os
import threading

import pytest

from ExtremeTesting.faults import cli
from ExtremeTesting.lifecycle import LedgerError, Step
from ExtremeTesting.lifecycle import ledger as ledger_module
from ExtremeTesting.lifecycle.ledger import Ledger


def recover(capsys, *args):
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def a_fault(path):
    ledger = Ledger(path)
    return ledger, ledger.open_fault(Step("kill", "keystone", ["ctl1"]),
                                     Step("start", "keystone", ["ctl1"]))


def test_an_unreadable_line_names_file_and_line_and_recover_refuses(tmp_path, capsys):
    ledger, _ = a_fault(tmp_path / "l.jsonl")
    with open(ledger.path, "ab") as handle:
        handle.write(b"this is not json\n")
    a_fault(ledger.path)
    code, out, err = recover(capsys, "--ledger", str(ledger.path), "--dry-run")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"{ledger.path} cannot be read at line 2" in err
    assert "fix or remove that line" in err and "Traceback" not in err


def test_a_torn_last_line_is_reported_and_skipped(tmp_path, capsys):
    ledger, entry = a_fault(tmp_path / "l.jsonl")
    with open(ledger.path, "ab") as handle:
        handle.write(b'{"op": "inject", "id": "to')
    code, out, err = recover(capsys, "--ledger", str(ledger.path), "--dry-run")
    assert code == 0, err
    assert "torn last line" in out and f"would undo {entry.id}" in out


@pytest.mark.parametrize("content", [os.urandom(4096), b"\x00\xff\xfe" * 100 + b"\n"])
def test_a_binary_ledger_is_one_line_exit_2(tmp_path, capsys, content):
    path = tmp_path / "l.jsonl"
    path.write_bytes(content)
    code, out, err = recover(capsys, "--ledger", str(path))
    assert code == 2 and out == "" and err.count("\n") == 1 and str(path) in err


def test_a_ledger_that_is_a_folder_is_one_line(tmp_path, capsys):
    code, out, err = recover(capsys, "--ledger", str(tmp_path))
    assert code == 2 and err.count("\n") == 1 and "is a folder" in err


@pytest.mark.parametrize("make", [
    lambda p: None,  # a typo: no such file
    lambda p: p.mkdir(),
    lambda p: p.write_text("nodes: [unclosed\n"),
    lambda p: p.write_bytes(b"\xff\xfe\x00garbage"),
])
def test_recover_checks_the_target_before_saying_anything(tmp_path, capsys, make):
    target = tmp_path / "targte.yaml"
    make(target)
    a_fault(tmp_path / "l.jsonl")
    code, out, err = recover(capsys, "--target", str(target), "--ledger",
                             str(tmp_path / "l.jsonl"))
    assert code == 2 and "undoing" not in out and out == ""
    assert str(target) in err and "Traceback" not in err


def test_a_short_write_is_an_error_before_the_fault(tmp_path, monkeypatch):
    writes = []

    def short(fd, data):
        writes.append(len(data))
        return 0

    monkeypatch.setattr(ledger_module.os, "write", short)
    with pytest.raises(LedgerError, match="Cannot write the fault ledger .*short write"):
        Ledger(tmp_path / "l.jsonl").open_fault(Step("kill", "x", ["n"]), None)
    assert writes


def test_partial_writes_are_finished(tmp_path, monkeypatch):
    real = os.write
    monkeypatch.setattr(ledger_module.os, "write", lambda fd, data: real(fd, bytes(data[:7])))
    ledger, entry = a_fault(tmp_path / "l.jsonl")
    monkeypatch.undo()
    assert [e.id for e in ledger.open_entries()] == [entry.id]


def test_a_second_recover_waits_then_refuses_naming_the_first(tmp_path):
    ledger, _ = a_fault(tmp_path / "l.jsonl")
    lock = ledger.path.with_name(ledger.path.name + ".recover.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, b"4242")
    try:
        with pytest.raises(Exception, match=r"Another 'extreme recover' \(PID 4242\)"):
            with cli.exclusive(ledger.path, wait=0.5):
                pass
        entered = threading.Event()

        def second():
            with cli.exclusive(ledger.path, wait=30):
                entered.set()

        thread = threading.Thread(target=second)
        thread.start()
        assert not entered.wait(0.5)  # waits while the first holds it
    finally:
        os.close(fd)  # the first finishes
    thread.join(30)
    assert entered.is_set()


def test_os_faults_schema_error_names_the_key_path_not_the_value():
    from ExtremeTesting.faults import osf
    from ExtremeTesting.faults.errors import OsFaultsConfigError

    config = {"cloud_management": {"driver": "universal"},
              "node_discover": {"driver": "node_list", "args": [
                  {"ip": "192.0.2.1", "auth": {"username": "u", "password": 918273645}}]}}
    with pytest.raises(OsFaultsConfigError) as error:
        osf.connect(config)
    assert "918273645" not in str(error.value)
    assert "auth/password fails the rule type" in str(error.value)
