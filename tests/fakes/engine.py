"""A fake Docker engine on a unix socket that fails in one chosen way, for the error-path tests.

Modes (what every request, or every request but `/_ping` with `after_ping`, gets):
- `500`: an HTTP 500 with the engine's JSON error body;
- `close`: the status line and half the headers, then the connection is closed;
- `hang`: the request is read and never answered;
- `badjson`: a 200 whose JSON body is cut off;
- `ok`: a minimal healthy engine (ping, info, empty lists), to fail later steps.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

INFO = {"ID": "fake", "ServerVersion": "20.10.24", "DockerRootDir": "/nonexistent/fake-engine", "Runtimes": {"runc": {}},
        "OperatingSystem": "fake", "NCPU": 2, "MemTotal": 1 << 30}
HEALTHY = {"/_ping": b"OK", "/info": json.dumps(INFO).encode(), "/version": b'{"ApiVersion": "1.41", "Version": "20.10.24"}'}


class FakeEngine:
    def __init__(self, directory: Path, mode: str, after_ping: bool = False):
        self.path = str(directory / "docker.sock")
        self.mode = mode
        self.after_ping = after_ping
        self.requests: list[str] = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(16)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def __enter__(self) -> "FakeEngine":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.server.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            while not self.stopping.is_set():
                request = _read_request(connection)
                if request is None:
                    return
                path = request.split(" ")[1].split("?")[0] if " " in request else "/"
                path = "/" + path.lstrip("/").split("/", 1)[1] if path.startswith("/v1.") else path
                self.requests.append(path)
                mode = "ok" if (self.after_ping and path in ("/_ping", "/version")) else self.mode
                try:
                    if not self._respond(connection, mode, path):
                        return
                except OSError:  # the client gave up first
                    return

    def _respond(self, connection: socket.socket, mode: str, path: str) -> bool:
        if mode == "hang":
            self.stopping.wait(120)
            return False
        if mode == "close":
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: applic")
            return False
        if mode == "ok" and path.startswith("/images/"):
            body, status = b'{"message": "No such image"}', "404 Not Found"
        elif mode == "500":
            body = b'{"message": "fake engine: internal server error"}'
            status = "500 Internal Server Error"
        elif mode == "badjson":
            body, status = b'{"ID": "fake", "Runtimes": {', "200 OK"
        else:
            body = HEALTHY.get(path, b"[]" if path in ("/containers/json", "/networks", "/images/json") else b"{}")
            body = b'{"Volumes": [], "Warnings": null}' if path == "/volumes" else body
            status = "200 OK"
        connection.sendall(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\n"
                           f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        return True


def _read_request(connection: socket.socket) -> str | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
    while len(rest) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head.split(b"\r\n")[0].decode(errors="replace")
