"""engine/http_answer.py: an answer's body read as its headers frame it, every malformed or cut answer
a ProtocolError, and requests written as the engine expects them."""

import io
import socket
import threading

import pytest

from mlstack.engine.http_answer import Answer, Connection, Disconnected, ProtocolError, request_head


def answer(raw: bytes, method: str = "GET") -> Answer:
    return Answer(io.BufferedReader(io.BytesIO(raw)), method)


def chunked(*pieces: bytes) -> bytes:
    return b"".join(b"%X\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def test_a_content_length_body_is_read_whole_and_the_connection_may_be_reused():
    found = answer(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}NEXT")

    assert (found.status, found.reason, found.getheader("content-type")) == (200, "OK", "application/json")
    assert found.read() == b'{"a":1}' and found.read() == b""
    assert found.reusable


def test_a_chunked_body_is_joined_and_read_in_pieces_of_any_size():
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(b"hello ", b"chunked ", b"world")

    assert answer(raw).read() == b"hello chunked world"
    pieces, body = [], answer(raw)
    while piece := body.read(4):
        pieces.append(piece)
    assert b"".join(pieces) == b"hello chunked world" and all(len(piece) <= 4 for piece in pieces)


def test_chunk_extensions_and_trailers_are_skipped():
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nabcde\r\n0\r\nX-Trailer: 1\r\n\r\n"

    assert answer(raw).read() == b"abcde"


def test_lines_cross_chunk_boundaries_as_an_event_stream_sends_them():
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(b'{"a":', b'1}\n{"b"', b":2}\n", b"\n")
    body = answer(raw)

    assert [body.readline(), body.readline(), body.readline(), body.readline()] == [b'{"a":1}\n', b'{"b":2}\n', b"\n", b""]


def test_a_body_without_length_runs_to_the_end_of_the_connection():
    found = answer(b"HTTP/1.0 200 OK\r\n\r\nall of it")

    assert found.read() == b"all of it" and not found.reusable


@pytest.mark.parametrize("status, method", [(204, "DELETE"), (304, "GET"), (101, "POST"), (200, "HEAD")])
def test_answers_without_a_body(status, method):
    assert answer(b"HTTP/1.1 %d X\r\nContent-Length: 5\r\n\r\nhello" % status, method).read() == b""


def test_connection_close_is_not_reused():
    assert not answer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").reusable


@pytest.mark.parametrize("raw, words", [
    (b"", "closed before the answer"),
    (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1 answer"),
    (b"HTTP/1.1 2000 OK\r\n\r\n", "not an HTTP/1 answer"),
    (b"HTTP/1.1 200 OK\r\nContent-Le", "closed in a header line"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "not a header line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", "not a number"),
    (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101 + b"\r\n", "more than 100 headers"),
    (b"HTTP/1.1 200 OK\r\n" + b"X: " + b"y" * 70000 + b"\r\n\r\n", "longer than"),
])
def test_a_malformed_head_is_a_protocol_error(raw, words):
    with pytest.raises(ProtocolError, match=words):
        answer(raw).read()


def test_an_empty_connection_is_a_disconnection_that_a_caller_may_retry():
    with pytest.raises(Disconnected):
        answer(b"")


@pytest.mark.parametrize("raw, words", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "closed in the answer's body"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc", "closed in the answer's body"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n", "not hexadecimal"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n", "does not end where its size says"),
])
def test_a_body_cut_or_misframed_is_a_protocol_error(raw, words):
    with pytest.raises(ProtocolError, match=words):
        answer(raw).read()


def test_requests_carry_host_and_a_length_where_a_body_may_go():
    assert request_head("GET", "/_ping") == b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n"
    assert b"Content-Length: 0\r\n" in request_head("POST", "/containers/x/start")
    assert b"Content-Length: 12\r\n" in request_head("POST", "/volumes/create", {"Content-Type": "application/json"}, 12)
    streamed = request_head("PUT", "/archive", {"Transfer-Encoding": "chunked"})
    assert b"Transfer-Encoding: chunked" in streamed and b"Content-Length" not in streamed


def test_one_connection_carries_requests_one_after_the_other(tmp_path):
    path = str(tmp_path / "engine.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    seen = []

    def serve():
        peer, _ = server.accept()
        with peer, peer.makefile("rb") as reader:
            for body in (b"OK", b'{"Name":"v"}'):
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    head += reader.readline()
                length = int(next((line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), b"0"))
                seen.append(head.split(b"\r\n")[0] + b" " + reader.read(length))
                peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    thread = threading.Thread(target=serve)
    thread.start()
    connection = Connection(path, timeout=5)
    try:
        connection.request("GET", "/_ping")
        first = connection.answer().read()
        connection.request("POST", "/volumes/create", b'{"Name":"v"}', {"Content-Type": "application/json"})
        second = connection.answer().read()
    finally:
        connection.close()
        thread.join(5)
        server.close()

    assert (first, second) == (b"OK", b'{"Name":"v"}')
    assert seen == [b"GET /_ping HTTP/1.1 ", b'POST /volumes/create HTTP/1.1 {"Name":"v"}']


def test_a_protocol_error_no_layer_translated_is_still_the_engine_s_failure():
    from mlstack.errors import EngineError, from_unexpected

    assert isinstance(from_unexpected(ProtocolError("a chunk size that is not hexadecimal")), EngineError)
