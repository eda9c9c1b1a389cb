"""The stdlib client's seeding calls speak the Engine API's HTTP: a JSON create, a tar in with a
Content-Length or chunked, a tar out, a 101-upgraded multiplexed output stream, and errors as
NotFound / Refused (engine/api.py, engine/api_stream.py)."""

import json
import socket
import threading

import pytest

from mlstack.engine.api import NotFound, Refused, UnixSocketAPI


class FakeEngine:
    """One connection at a time on a unix socket: records each request (head and body) and answers
    with `reply(method, target, body) -> bytes` (a whole HTTP answer)."""

    def __init__(self, path: str, reply):
        self.requests: list[tuple[str, dict, bytes]] = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(4)
        self.reply = reply
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as reader:   # the reader too: it holds the socket open
                while True:
                    line = reader.readline()
                    if not line:
                        break
                    headers = {}
                    while (header := reader.readline()) not in (b"\r\n", b""):
                        name, _, value = header.decode().partition(":")
                        headers[name.strip().lower()] = value.strip()
                    body = b""
                    if headers.get("transfer-encoding") == "chunked":
                        while (size := int(reader.readline().strip(), 16)):
                            body += reader.read(size)
                            reader.readline()
                        reader.readline()
                    else:
                        body = reader.read(int(headers.get("content-length") or 0))
                    request = line.decode().strip()
                    self.requests.append((request, headers, body))
                    reply = self.reply(request.split()[0], request.split()[1], body)
                    conn.sendall(reply)
                    if reply.startswith(b"HTTP/1.1 101"):   # an attached container that ended: the stream closes
                        break

    def close(self):
        self.server.close()


def answer(status: int, body: bytes = b"", extra: str = "") -> bytes:
    return b"HTTP/1.1 %d X\r\n%sContent-Length: %d\r\n\r\n%s" % (status, extra.encode(), len(body), body)


@pytest.fixture
def engine(tmp_path):
    made = []

    def make(reply):
        made.append(FakeEngine(str(tmp_path / "docker.sock"), reply))
        return made[-1], UnixSocketAPI(f"unix://{tmp_path / 'docker.sock'}", timeout=5)

    yield make
    for fake in made:
        fake.close()


class Sized:
    """A body whose length is known before it is sent, as sources.TarBody's is."""

    def __init__(self, chunks):
        self.chunks = chunks

    def __len__(self):
        return sum(map(len, self.chunks))

    def __iter__(self):
        return iter(self.chunks)


def test_a_tar_of_known_length_goes_with_a_content_length_and_others_chunked(engine):
    fake, api = engine(lambda method, target, body: answer(200))
    api.put_archive("c1", "/mlstack-volume", Sized([b"a" * 10, memoryview(b"b" * 5)]))
    api.put_archive("c1", "/mlstack-volume/x y", iter([b"one", b"", memoryview(bytearray(b"two"))]))
    api.put_archive("c1", "/v", b"whole")
    (first, first_headers, first_body), (second, second_headers, second_body), (third, _, third_body) = fake.requests
    assert first == "PUT /containers/c1/archive?path=%2Fmlstack-volume HTTP/1.1"
    assert first_headers["content-length"] == "15" and first_body == b"a" * 10 + b"b" * 5
    assert second == "PUT /containers/c1/archive?path=%2Fmlstack-volume%2Fx+y HTTP/1.1"
    assert second_headers["transfer-encoding"] == "chunked" and second_body == b"onetwo"
    assert first_headers["content-type"] == second_headers["content-type"] == "application/x-tar"
    assert third_body == b"whole"


def test_json_calls_and_the_engines_refusals(engine):
    replies = {
        "POST /containers/create": answer(201, b'{"Id": "abc"}'),
        "POST /containers/abc/start": answer(204),
        "DELETE /containers/gone": answer(404, b'{"message": "No such container: gone"}'),
        "DELETE /containers/busy": answer(409, b'{"message": "removal of container busy is already in progress"}'),
        "POST /volumes/create": answer(201, b'{"Name": "v"}'),
    }
    fake, api = engine(lambda method, target, body: replies[f"{method} {target.split('?')[0]}"])
    assert api.create_container_from_config({"Image": "busybox:1"}) == {"Id": "abc"}
    api.start("abc")
    with pytest.raises(NotFound):
        api.remove_container("gone", force=True)
    with pytest.raises(Refused) as refused:
        api.remove_container("busy", force=True)
    assert (refused.value.status, refused.value.explanation) == (409, "removal of container busy is already in progress")
    assert refused.value.exit_code == 3
    api.create_volume("v", driver="local", labels={"com.docker.compose.volume": "v"})
    assert [request for request, _, _ in fake.requests] == [
        "POST /containers/create HTTP/1.1", "POST /containers/abc/start HTTP/1.1",
        "DELETE /containers/gone?force=1 HTTP/1.1", "DELETE /containers/busy?force=1 HTTP/1.1",
        "POST /volumes/create HTTP/1.1"]
    assert json.loads(fake.requests[0][2]) == {"Image": "busybox:1"}
    assert json.loads(fake.requests[-1][2]) == {"Name": "v", "Driver": "local", "DriverOpts": {},
                                                "Labels": {"com.docker.compose.volume": "v"}}


def test_a_tar_out_of_a_container_and_a_missing_path(engine):
    def reply(method, target, body):
        if "missing" in target:
            return answer(404, b'{"message": "Could not find the file /missing"}')
        return answer(200, b"tar-bytes" * 1000, "X-Docker-Container-Path-Stat: eyJuYW1lIjogIm0ifQ==\r\n")

    _, api = engine(reply)
    chunks, stat = api.get_archive("c1", "/mlstack-volume/m")
    assert b"".join(chunks) == b"tar-bytes" * 1000 and stat == {"name": "m"}
    with pytest.raises(NotFound):
        api.get_archive("c1", "/missing")


def frame(stream: int, data: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


def test_attach_reads_the_upgraded_multiplexed_stream_frame_by_frame(engine):
    output = frame(1, b"mlstack-seed: copying\n") + frame(2, b"warning\n") + frame(1, b"mlstack-seed-exit 0\n")
    _, api = engine(lambda method, target, body: b"HTTP/1.1 101 UPGRADED\r\nContent-Type: "
                    b"application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n" + output)
    stream = api.attach("c1", stdout=True, stderr=True, stream=True, logs=False)
    assert list(stream) == [b"mlstack-seed: copying\n", b"warning\n", b"mlstack-seed-exit 0\n"]
    stream.close()


def test_attach_to_a_container_that_is_gone(engine):
    _, api = engine(lambda method, target, body: answer(404, b'{"message": "No such container: c1"}'))
    with pytest.raises(NotFound):
        api.attach("c1")


def test_a_remote_engine_s_refusals_from_the_sdk_are_the_same_errors():
    """ssh:// and tcp:// engines go through the SDK's client: its errors become NotFound and Refused."""
    from mlstack.engine.api import SdkAPI

    class APIError(Exception):   # the shape of docker.errors.APIError
        def __init__(self, status_code: int, explanation: str):
            super().__init__(f"{status_code} Client Error: {explanation}")
            self.status_code, self.explanation = status_code, explanation

    class SdkNotFound(APIError):
        pass

    SdkNotFound.__name__ = "NotFound"

    class Client:
        def remove_container(self, container, force=False):
            raise {"gone": SdkNotFound(404, "No such container: gone"),
                   "busy": APIError(409, "removal of container busy is already in progress")}[container]

    api = SdkAPI.__new__(SdkAPI)
    api.client = Client()
    with pytest.raises(NotFound):
        api.remove_container("gone", force=True)
    with pytest.raises(Refused) as refused:
        api.remove_container("busy", force=True)
    assert (refused.value.status, refused.value.explanation) == (409, "removal of container busy is already in progress")
