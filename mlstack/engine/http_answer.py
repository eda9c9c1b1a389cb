"""HTTP/1.1 over the engine's unix socket: a request written whole, its answer read as its headers frame it.

What the Engine API calls need of `http.client`, without importing it: http.client brings the email
package (its header parser) and ssl (OpenSSL) with it, ~30 ms of a cold `mlstack seed`, `status` or
`up` for a transport that never uses either. The answer's body is framed by Content-Length, chunked
transfer encoding, or the end of the connection, as RFC 9112 (section 6.3) says; 1xx, 204 and 304
answers, and answers to HEAD, have none. Anything else, or a connection that ends early, is a
`ProtocolError`, which callers report as the engine's failure.
"""

from __future__ import annotations

import socket

MAX_LINE = 65536      # a status line, a header line or a chunk's size line
MAX_HEADERS = 100


class ProtocolError(Exception):
    """The answer is not HTTP/1.x as expected, or it ends early."""


class Disconnected(ProtocolError):
    """The connection ended before an answer began (a kept-alive connection the engine closed)."""


def request_head(method: str, target: str, headers: dict[str, str] | None = None, length: int | None = None) -> bytes:
    """A request's line and headers: Content-Length `length` where a body of that length follows, 0 for a
    POST or PUT without one; `headers` that frame the body themselves (Transfer-Encoding) are left as given."""
    headers = headers or {}
    lines = [f"{method} {target} HTTP/1.1", "Host: docker"] + [f"{name}: {value}" for name, value in headers.items()]
    framed = any(name.lower() in ("content-length", "transfer-encoding") for name in headers)
    if not framed and (length is not None or method in ("POST", "PUT")):
        lines.append(f"Content-Length: {length or 0}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Answer:
    """The status and headers of one answer, read on construction; the body read on demand."""

    def __init__(self, reader, method: str = "GET"):
        self._reader = reader
        line = reader.readline(MAX_LINE + 1)
        if not line:
            raise Disconnected("the connection closed before the answer")
        parts = _line(line, "status line").split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not (len(parts[1]) == 3 and parts[1].isdigit()):
            raise ProtocolError(f"not an HTTP/1 answer: {line[:60]!r}")
        self.status = int(parts[1])
        self.reason = parts[2].strip() if len(parts) > 2 else ""
        self.headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            line = reader.readline(MAX_LINE + 1)
            if not line:
                raise ProtocolError("the connection closed in the answer's headers")
            if line in (b"\r\n", b"\n"):
                break
            name, colon, value = _line(line, "header line").partition(":")
            if not colon or not name.strip():
                raise ProtocolError(f"not a header line: {line[:60]!r}")
            self.headers[name.strip().lower()] = value.strip()
        else:
            raise ProtocolError(f"more than {MAX_HEADERS} headers")
        self.chunked = False
        self._left: int | None = 0   # bytes of the body (or of the current chunk) still to read; None: up to the end
        if method == "HEAD" or self.status in (204, 304) or 100 <= self.status < 200:
            self._done = True
        elif "chunked" in self.headers.get("transfer-encoding", "").lower():
            self.chunked, self._done = True, False
        elif "content-length" in self.headers:
            length = self.headers["content-length"]
            if not (length.isascii() and length.isdigit()):
                raise ProtocolError(f"a Content-Length that is not a number: {length[:40]!r}")
            self._left = int(length)
            self._done = self._left == 0
        else:
            self._left, self._done = None, False
        self._pending = b""   # read from a chunk ahead of a line's end (readline)

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def framed(self) -> bool:
        """Whether the body's end is known from the headers (a length, chunks), not from the connection's end."""
        return self._left is not None

    @property
    def reusable(self) -> bool:
        """Whether the connection may carry another request once the body is read."""
        return self._left is not None and "close" not in self.headers.get("connection", "").lower()

    def read(self, amount: int | None = None) -> bytes:
        """Up to `amount` bytes of the body (all of it without); b"" at its end."""
        parts, wanted = [], amount
        if self._pending:
            taken = self._pending if wanted is None else self._pending[:wanted]
            self._pending = self._pending[len(taken):]
            parts.append(taken)
            wanted = None if wanted is None else wanted - len(taken)
        while not self._done and (wanted is None or wanted > 0):
            piece = self._piece(wanted)
            if not piece:
                break
            parts.append(piece)
            wanted = None if wanted is None else wanted - len(piece)
        return b"".join(parts)

    def readline(self) -> bytes:
        """The body up to and with the next b"\\n" (or to its end)."""
        while b"\n" not in self._pending and not self._done:
            piece = self._piece(None if self._left is None and not self.chunked else 65536)
            if not piece:
                break
            self._pending += piece
        line, newline, rest = self._pending.partition(b"\n")
        self._pending = rest
        return line + newline

    def _piece(self, wanted: int | None) -> bytes:
        """The next bytes of the body as framed, at most `wanted`; b"" at its end."""
        if self.chunked and self._left == 0:
            size_line = self._reader.readline(MAX_LINE + 1)
            size = _line(size_line, "chunk size line").split(";", 1)[0].strip()
            if not size or not all(digit in "0123456789abcdefABCDEF" for digit in size):
                raise ProtocolError(f"a chunk size that is not hexadecimal: {size_line[:40]!r}")
            self._left = int(size, 16)
            if self._left == 0:
                self._trailers()
                return b""
        if self._left is None:   # up to the end of the connection
            piece = self._reader.read1(wanted or 65536) if hasattr(self._reader, "read1") else self._reader.read(wanted or 65536)
            self._done = not piece
            return piece
        piece = self._reader.read(self._left if wanted is None else min(wanted, self._left))
        if not piece:
            raise ProtocolError("the connection closed in the answer's body")
        self._left -= len(piece)
        if self._left == 0:
            if self.chunked:
                if self._reader.readline(MAX_LINE + 1) not in (b"\r\n", b"\n"):
                    raise ProtocolError("a chunk does not end where its size says")
            else:
                self._done = True
        return piece

    def close(self) -> None:
        self._done = True
        self._reader.close()

    def _trailers(self) -> None:
        for _ in range(MAX_HEADERS + 1):
            line = self._reader.readline(MAX_LINE + 1)
            if line in (b"\r\n", b"\n", b""):
                self._done = True
                return
        raise ProtocolError(f"more than {MAX_HEADERS} trailer lines")


def _line(raw: bytes, what: str) -> str:
    if len(raw) > MAX_LINE:
        raise ProtocolError(f"a {what} longer than {MAX_LINE} bytes")
    if not raw.endswith(b"\n"):
        raise ProtocolError(f"the connection closed in a {what}")
    return raw.decode("latin-1")


class Connection:
    """One kept-alive connection to a unix socket: a request, then its answer, then the next request."""

    def __init__(self, path: str, timeout: float | None):
        self.path, self.timeout = path, timeout
        self.sock: socket.socket | None = None
        self.reader = None

    def request(self, method: str, target: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> None:
        if self.sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.path)
            except BaseException:
                sock.close()
                raise
            self.sock, self.reader = sock, sock.makefile("rb")
        self.sock.sendall(request_head(method, target, headers, None if body is None else len(body)) + (body or b""))
        self._method = method

    def answer(self) -> Answer:
        return Answer(self.reader, self._method)

    def close(self) -> None:
        for thing in (self.reader, self.sock):
            if thing is not None:
                try:
                    thing.close()
                except OSError:
                    pass
        self.sock = self.reader = None
