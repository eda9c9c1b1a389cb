"""Following a project's containers through the engine's event stream: parsing (recorded from engine
20.10), the reading thread, and the stream over a unix socket, including the engine closing it."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest

from mlstack.engine import events
from mlstack.engine.api import UnixSocketAPI
from mlstack.engine.events import Event, Follower, parse
from mlstack.errors import EngineError

RECORDED = Path(__file__).parent / "fixtures" / "events-engine-20.10.ndjson"


def raw(action: str, name: str = "team-dev-db-1", project: str = "team-dev", service: str = "db",
        **attributes: str) -> dict:
    labels = {"com.docker.compose.project": project, "com.docker.compose.service": service,
              "com.docker.compose.oneoff": "False", "name": name, **attributes}
    return {"status": action, "id": "f00", "Type": "container", "Action": action,
            "Actor": {"ID": "f00", "Attributes": labels}, "scope": "local", "time": 1, "timeNano": 1}


def test_a_recorded_up_of_engine_20_10_reads_as_the_transitions_it_was():
    # `up` of: db (healthcheck), init (one-shot, exits 0), plain (no healthcheck), sick (a failing
    # healthcheck), loop (exits 3 under `restart: unless-stopped`); then `down`.
    parsed = [parse(json.loads(line), "evrec-dev") for line in RECORDED.read_text().splitlines()]
    assert [(e.service, e.action, e.health, e.exit_code) for e in parsed] == [
        ("db", "start", "", 0), ("init", "start", "", 0), ("init", "die", "", 0), ("plain", "start", "", 0),
        ("db", "health_status", "healthy", 0), ("loop", "start", "", 0), ("loop", "die", "", 3),
        ("sick", "start", "", 0), ("loop", "start", "", 0), ("loop", "die", "", 3), ("loop", "start", "", 0),
        ("loop", "die", "", 3), ("sick", "health_status", "unhealthy", 0), ("loop", "start", "", 0),
        ("loop", "die", "", 3), ("loop", "start", "", 0), ("loop", "die", "", 3), ("sick", "die", "", 0),
        ("plain", "die", "", 0), ("db", "die", "", 0)]
    assert parsed[0].name == "evrec-dev-db-1"


IGNORED = [
    ("another project's container", raw("start", project="other-dev")),
    ("a `compose run` one-off", raw("start", **{"com.docker.compose.oneoff": "True"})),
    ("an action not followed", raw("exec_start: sh -c true")),
    ("an unknown action", raw("teleport")),
    ("a network event", {**raw("connect"), "Type": "network"}),
    ("no attributes", {"Type": "container", "Action": "start", "Actor": {}}),
    ("no name", raw("start", name="")),
    ("not an object", ["start"]),
    ("an exit code that is not a number", raw("die", exitCode="x")),
]


@pytest.mark.parametrize("why, event", IGNORED, ids=[why for why, _ in IGNORED])
def test_what_is_not_a_transition_of_this_project_is_ignored(why, event):
    assert parse(event, "team-dev") is None


def test_older_messages_without_action_read_from_status_and_health_without_detail_stays_empty():
    old = raw("die", exitCode="137")
    del old["Action"]
    assert parse(old, "team-dev") == Event("team-dev-db-1", "db", "die", exit_code=137)
    assert parse(raw("health_status"), "team-dev") == Event("team-dev-db-1", "db", "health_status", health="")


def test_filters_ask_the_engine_for_the_project_s_container_transitions_only():
    assert events.filters("team-dev") == {"type": ["container"], "label": ["com.docker.compose.project=team-dev"],
                                          "event": ["start", "die", "health_status"]}


class ListStream:
    """A stream that yields these objects, then waits until closed (as the engine's does), or ends."""

    def __init__(self, objects: list, then: str = "wait"):
        self.objects, self.then = objects, then
        self.closed = threading.Event()

    def __iter__(self):
        yield from self.objects
        if self.then == "raise":
            raise ConnectionResetError("engine restarted")
        if self.then == "wait":
            self.closed.wait(10)

    def close(self):
        self.closed.set()


def take_until(follower: Follower, count: int) -> list[Event]:
    taken: list[Event] = []
    deadline = time.monotonic() + 5
    while len(taken) < count and time.monotonic() < deadline:
        taken += follower.take(0.5)
    return taken


def test_the_follower_hands_over_this_project_s_events_in_order_and_stays_open():
    follower = Follower(ListStream([raw("start"), raw("start", project="x-dev"), raw("health_status: healthy")]), "team-dev")
    assert [e.action for e in take_until(follower, 2)] == ["start", "health_status"]
    assert follower.open
    assert follower.take(0.05) == []        # nothing more within the timeout: no event, still open
    follower.close()
    assert not follower.open


@pytest.mark.parametrize("then", ["end", "raise"])
def test_a_stream_the_engine_ends_or_breaks_closes_the_follower_after_its_last_events(then):
    follower = Follower(ListStream([raw("start")], then=then), "team-dev")
    taken = take_until(follower, 1)
    deadline = time.monotonic() + 5
    while follower.open and time.monotonic() < deadline:
        taken += follower.take(0.5)
    assert [e.action for e in taken] == ["start"]
    assert not follower.open
    assert follower.take(1) == []           # closed: returns at once


def test_no_stream_at_all_is_a_closed_follower():
    follower = Follower(None, "team-dev")
    assert not follower.open and follower.take(5) == []


def serve_once(path: str, answer: bytes, hold: threading.Event | None = None) -> list[str]:
    """A unix-socket server answering one request with `answer`, then holding the connection
    open until `hold` is set (or closing it at once)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    seen: list[str] = []

    def serve():
        conn, _ = server.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            seen.append(data.split(b"\r\n")[0].decode())
            conn.sendall(answer)
            if hold is not None:
                hold.wait(10)
        server.close()

    threading.Thread(target=serve, daemon=True).start()
    return seen


def chunked(*lines: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(line), line) for line in lines)


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"


def test_the_stream_over_the_socket_reads_chunked_lines_and_ends_when_the_engine_closes_it(tmp_path):
    path = str(tmp_path / "docker.sock")
    start, healthy = json.dumps(raw("start")).encode() + b"\n", json.dumps(raw("health_status: healthy")).encode() + b"\n"
    # one event split over two chunks, a line that is not JSON, then the engine goes away mid-chunk
    seen = serve_once(path, HEAD + chunked(start, healthy[:40], healthy[40:], b"garbage\n") + b"ff\r\n{\"Ty")
    stream = UnixSocketAPI(f"unix://{path}", timeout=5).events(events.filters("team-dev"))
    follower = Follower(stream, "team-dev")
    taken = take_until(follower, 2)
    deadline = time.monotonic() + 5
    while follower.open and time.monotonic() < deadline:
        taken += follower.take(0.5)
    assert [e.action for e in taken] == ["start", "health_status"] and not follower.open
    assert seen == ["GET /events?filters=%7B%22type%22%3A+%5B%22container%22%5D%2C+%22label%22%3A+%5B%22com.docker."
                    "compose.project%3Dteam-dev%22%5D%2C+%22event%22%3A+%5B%22start%22%2C+%22die%22%2C+%22health_"
                    "status%22%5D%7D HTTP/1.1"]


def test_closing_the_stream_wakes_the_reader_waiting_for_the_next_event(tmp_path):
    path = str(tmp_path / "docker.sock")
    hold = threading.Event()
    serve_once(path, HEAD + chunked(json.dumps(raw("start")).encode() + b"\n"), hold)
    follower = Follower(UnixSocketAPI(f"unix://{path}", timeout=5).events(events.filters("team-dev")), "team-dev")
    assert [e.action for e in take_until(follower, 1)] == ["start"]
    follower.close()
    hold.set()
    assert not follower.open


def test_an_engine_refusing_the_stream_is_an_engine_error(tmp_path):
    path = str(tmp_path / "docker.sock")
    serve_once(path, b"HTTP/1.1 500 X\r\nContent-Length: 14\r\n\r\n{\"message\":\"\"}")
    with pytest.raises(EngineError, match=r"failed GET /events: HTTP 500"):
        UnixSocketAPI(f"unix://{path}", timeout=5).events({})


def test_a_remote_engine_s_stream_comes_from_the_sdk_and_its_failure_is_an_engine_error():
    from mlstack.engine.api import SdkAPI

    class Client:
        def __init__(self, fails: bool):
            self.fails, self.asked = fails, []

        def events(self, **options):
            self.asked.append(options)
            if self.fails:
                raise OSError("ssh: connection closed")
            return ListStream([raw("start")], then="end")

    api = SdkAPI.__new__(SdkAPI)
    api.client = Client(fails=False)
    follower = Follower(api.events(events.filters("team-dev")), "team-dev")
    assert [e.action for e in take_until(follower, 1)] == ["start"]
    assert api.client.asked == [{"filters": events.filters("team-dev"), "decode": True}]
    api.client = Client(fails=True)
    with pytest.raises(EngineError, match="failed GET /events: ssh: connection closed"):
        api.events({})
