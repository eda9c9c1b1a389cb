"""Host port probes: bind tests (no traffic is sent) and naming the process that listens."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from mlstack.engine.ports import Listener, bind_free, holder, parse_proc_net_tcp

FIXTURES = Path(__file__).parent / "fixtures"


def test_listeners_from_a_recorded_proc_net_tcp():
    listeners = parse_proc_net_tcp((FIXTURES / "proc-net-tcp.txt").read_text())
    assert sorted(listener.port for listener in listeners) == [5000, 5432, 6333, 6334, 6379, 8888]
    assert Listener(5000, 82383, 0) in listeners


def test_bind_free_sees_a_listener():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert not bind_free("127.0.0.1", port)
        assert not bind_free("0.0.0.0", port)   # a wildcard bind collides with a loopback listener
    assert bind_free("127.0.0.1", port)


def test_holder_names_the_process(tmp_path):
    """A fake /proc: one listener on 5000 whose inode belongs to pid 4242's fd 7."""
    table = (FIXTURES / "proc-net-tcp.txt").read_text()
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "tcp").write_text(table)
    (tmp_path / "4242" / "fd").mkdir(parents=True)
    (tmp_path / "4242" / "cmdline").write_bytes(b"/usr/bin/python3\0-m\0http.server\x005000\0")
    os.symlink("socket:[82383]", tmp_path / "4242" / "fd" / "7")
    assert holder(5000, str(tmp_path)) == "python3 -m http.server 5000 (pid 4242)"
    assert holder(5432, str(tmp_path)) == "a process of uid 0 (`sudo ss -ltnp 'sport = :5432'` names it)"
    assert holder(9999, str(tmp_path)) is None
