"""Is a host port free here, and who holds it? Binding tests availability without sending traffic.

The answer is about the network namespace mlstack runs in, which is the engine's on a normal
machine (and why the integration tests run mlstack inside the test engine's namespace).
"""

from __future__ import annotations

import os
import socket
from mlstack.records import record

TCP_LISTEN = "0A"


@record(frozen=True)
class Listener:
    port: int
    inode: int
    uid: int


def bind_free(host_ip: str, port: int, protocol: str = "tcp") -> bool:
    """True when this process could bind host_ip:port, i.e. nothing listens there (TIME_WAIT ignored)."""
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host_ip or "0.0.0.0", port))
        except PermissionError:
            return True   # a privileged port: the engine binds it, not us; nothing to learn here
        except OSError:
            return False
    return True


def parse_proc_net_tcp(text: str) -> list[Listener]:
    """LISTEN sockets from /proc/net/tcp or /proc/net/tcp6."""
    found = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != TCP_LISTEN:
            continue
        port = int(fields[1].rsplit(":", 1)[1], 16)
        found.append(Listener(port, int(fields[9]), int(fields[7])))
    return found


def holder(port: int, proc: str = "/proc") -> str | None:
    """`python3 (pid 4242)` for the process listening on a TCP port, when the OS tells us."""
    inodes: dict[int, int] = {}
    for table in ("net/tcp", "net/tcp6"):
        try:
            with open(os.path.join(proc, table), encoding="ascii") as stream:
                listeners = parse_proc_net_tcp(stream.read())
        except OSError:
            continue
        inodes.update({listener.inode: listener.uid for listener in listeners if listener.port == port})
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for pid in (entry for entry in os.listdir(proc) if entry.isdigit()):
        try:
            fds = os.listdir(os.path.join(proc, pid, "fd"))
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(os.path.join(proc, pid, "fd", fd)) in wanted:
                    return f"{_command_name(proc, pid)} (pid {pid})"
            except OSError:
                continue
    uid = next(iter(inodes.values()))
    return f"a process of uid {uid} (`sudo ss -ltnp 'sport = :{port}'` names it)"


def _command_name(proc: str, pid: str) -> str:
    try:
        with open(os.path.join(proc, pid, "cmdline"), "rb") as stream:
            argv = [part.decode(errors="replace") for part in stream.read().split(b"\0") if part]
    except OSError:
        argv = []
    if not argv:
        return "?"
    return " ".join([os.path.basename(argv[0])] + argv[1:4])
