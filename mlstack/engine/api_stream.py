"""The Engine API's streaming calls over the standard library: a tar into a container, a tar out of
one, and a container's output. Each runs on a socket of its own (`open_socket`, from engine/api.py),
so a tar can flow out of one container and into another at once.

The request is written straight to the socket, each chunk in one gathered write with its framing
(no copy of a 1 MiB chunk to prepend a header); the answer is read by engine/http_answer.py. A tar whose
length is known (sources.TarBody) goes with a Content-Length, any other with chunked transfer
encoding. Errors leave as engine/api.py's: NotFound, Refused, EngineError.
"""

from __future__ import annotations

import base64
import json
import socket
from urllib.parse import quote, urlencode

from mlstack.engine.api_errors import check, failure
from mlstack.engine.http_answer import Answer, ProtocolError, request_head

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Callable, Iterable, Iterator

CHUNK = 1 << 20


def _closed(sock: socket.socket, what: str, error: BaseException) -> BaseException:
    """A stream that could not start: its socket closed; an I/O or HTTP failure as the engine's error,
    anything else (Ctrl-C, the engine's own refusal) as it was."""
    sock.close()
    return failure(what, error) if isinstance(error, (OSError, ProtocolError)) else error


def put_archive(open_socket: Callable[[], socket.socket], container: str, path: str, data: bytes | Iterable) -> None:
    target = f"/containers/{quote(container, safe='')}/archive?{urlencode({'path': path})}"
    what = f"PUT /containers/{container[:12]}/archive"
    sized = isinstance(data, (bytes, bytearray)) or hasattr(data, "__len__")
    framing = {"Content-Length": str(len(data))} if sized else {"Transfer-Encoding": "chunked"}
    sock = open_socket()
    try:
        try:
            _send(sock, [request_head("PUT", target, {"Content-Type": "application/x-tar", **framing})])
            for chunk in ([data] if isinstance(data, (bytes, bytearray)) else data):
                if not len(chunk):
                    continue
                _send(sock, [chunk] if sized else [b"%X\r\n" % len(chunk), chunk, b"\r\n"])
            if not sized:
                _send(sock, [b"0\r\n\r\n"])
        except (BrokenPipeError, ConnectionResetError):
            pass   # the engine stopped reading: its answer says why
        except OSError as error:
            raise failure(what, error) from None
        status, answer = _answer(sock, "PUT", what)
        check(what, status, answer)
    finally:
        sock.close()


def get_archive(open_socket: Callable[[], socket.socket], container: str, path: str) -> tuple[Iterator[bytes], dict]:
    """The tar of `path` in the container, read as it arrives; NotFound at once when it does not exist."""
    target = f"/containers/{quote(container, safe='')}/archive?{urlencode({'path': path})}"
    what = f"GET /containers/{container[:12]}/archive"
    sock = open_socket()
    try:
        _send(sock, [request_head("GET", target)])
        response = Answer(sock.makefile("rb"), "GET")
        if response.status != 200:
            check(what, response.status, response.read())
    except BaseException as error:
        raise _closed(sock, what, error) from None
    stat = response.getheader("X-Docker-Container-Path-Stat") or ""
    try:
        details = json.loads(base64.b64decode(stat)) if stat else {}
    except ValueError:
        details = {}
    return _chunks(sock, response, what), details


def _chunks(sock: socket.socket, response: Answer, what: str) -> Iterator[bytes]:
    try:
        while True:
            try:
                chunk = response.read(CHUNK)
            except (OSError, ProtocolError) as error:
                raise failure(what, error) from None
            if not chunk:
                return
            yield chunk
    finally:
        response.close()
        sock.close()


class OutputStream:
    """A container's stdout and stderr, frame by frame (the engine's multiplexed stream, no TTY),
    until the container's end or `close()`."""

    def __init__(self, sock: socket.socket, reader):
        self.sock = sock
        self.reader = reader   # after the 101 answer's headers: the raw stream, read ahead or not

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                header = self.reader.read(8)
                if len(header) < 8:
                    return
                payload = self.reader.read(int.from_bytes(header[4:8], "big"))
            except (OSError, ValueError):   # closed under us
                return
            if payload:
                yield payload

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.reader.close()   # it holds the socket's descriptor open too
        self.sock.close()


def attach(open_socket: Callable[[], socket.socket], container: str, stdout: bool, stderr: bool, logs: bool) -> OutputStream:
    """Attached when this returns (the engine has answered), so a start right after loses nothing."""
    query = urlencode({"stream": "1", "stdout": int(stdout), "stderr": int(stderr), "logs": int(logs)})
    what = f"POST /containers/{container[:12]}/attach"
    sock = open_socket()
    try:
        _send(sock, [request_head("POST", f"/containers/{quote(container, safe='')}/attach?{query}",
                                  {"Upgrade": "tcp", "Connection": "Upgrade"})])
        # after a 101 (or 200) answer's headers the reader holds the raw stream, framed by the engine itself
        reader = sock.makefile("rb")
        answer = Answer(reader, "POST")
        if answer.status not in (101, 200):
            check(what, answer.status, answer.read() if answer.framed else b"")
            raise failure(what, f"HTTP {answer.status}")
    except BaseException as error:
        raise _closed(sock, what, error) from None
    return OutputStream(sock, reader)


def _answer(sock: socket.socket, method: str, what: str) -> tuple[int, bytes]:
    reader = sock.makefile("rb")
    try:
        response = Answer(reader, method)
        return response.status, response.read()
    except (OSError, ProtocolError) as error:
        raise failure(what, error) from None
    finally:
        reader.close()


def _send(sock: socket.socket, buffers: list) -> None:
    """All of `buffers` in as few system calls as the socket takes (one, usually)."""
    views = [memoryview(buffer).cast("B") for buffer in buffers]
    while views:
        sent = sock.sendmsg(views)
        while views and sent >= len(views[0]):
            sent -= len(views[0])
            views.pop(0)
        if views and sent:
            views[0] = views[0][sent:]
