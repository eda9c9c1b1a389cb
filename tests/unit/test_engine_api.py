"""The stdlib Engine API client speaks HTTP over a unix socket like the engine expects."""

import json
import socket
import threading

import pytest

from mlstack.engine.api import NotFound, UnixSocketAPI


@pytest.fixture
def fake_engine(tmp_path):
    """A one-thread HTTP server on a unix socket answering canned JSON, recording request lines."""
    path = str(tmp_path / "docker.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    seen: list[str] = []
    answers = {
        "/_ping": (200, b"OK"),
        "/info": (200, json.dumps({"ServerVersion": "20.10", "Runtimes": {"runc": {}}}).encode()),
        "/images/nope%3A1/json": (404, b'{"message":"No such image"}'),
    }

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                    while b"\r\n\r\n" in data:
                        head, data = data.split(b"\r\n\r\n", 1)
                        line = head.split(b"\r\n")[0].decode()
                        seen.append(line)
                        target = line.split()[1]
                        status, body = answers.get(target.split("?")[0], (200, b"[]"))
                        conn.sendall(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                                     % (status, len(body), body))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"unix://{path}", seen
    server.close()


def test_requests_and_answers(fake_engine):
    url, seen = fake_engine
    api = UnixSocketAPI(url, timeout=5)
    assert api.ping() is True
    assert api.info()["ServerVersion"] == "20.10"
    assert api.containers(all=True, filters={"label": ["com.docker.compose.project=p"]}) == []
    with pytest.raises(NotFound):
        api.inspect_image("nope:1")
    assert seen == [
        "GET /_ping HTTP/1.1",
        "GET /info HTTP/1.1",
        "GET /containers/json?all=1&filters=%7B%22label%22%3A+%5B%22com.docker.compose.project%3Dp%22%5D%7D HTTP/1.1",
        "GET /images/nope%3A1/json HTTP/1.1",
    ]


def test_threads_asking_at_once_each_get_their_own_answer(fake_engine):
    url, seen = fake_engine
    api = UnixSocketAPI(url, timeout=5)
    answers: list = []
    threads = [threading.Thread(target=lambda: answers.append((api.ping(), api.info()["ServerVersion"])))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert answers == [(True, "20.10")] * 4
    assert sorted(seen) == ["GET /_ping HTTP/1.1"] * 4 + ["GET /info HTTP/1.1"] * 4
