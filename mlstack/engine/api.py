"""The Docker Engine API calls mlstack makes: the lifecycle commands' reads, and every call of
seeding (volumes, the helper container, tar streams in and out; the streaming ones are in
engine/api_stream.py).

Over a local unix socket they go through engine/http_answer.py (HTTP/1.1 on a socket, without
http.client's email and ssl imports): importing the Docker SDK costs ~200 ms (requests, urllib3), more
than `mlstack status`'s whole budget. Remote
engines (tcp with TLS, ssh) go through the SDK's low-level client, which knows those transports.
Both answer the same methods (the SDK's names and arguments) with the Engine API's JSON.

Every failure leaves this module as one of engine/api_errors.py's: `NotFound` (a 404: callers
decide what absence means), `Refused` (another error status, with the engine's explanation) or
another `EngineError` (exit 3), whatever the transport raised: a refused or missing socket, an
engine that answers 500, closes mid-response, never answers within the timeout, or answers with
something that is not JSON.
"""

from __future__ import annotations

import json
import socket
import threading
from urllib.parse import quote, urlencode

from mlstack.engine.api_errors import HINT, NotFound, Refused, Unreachable, check, failure  # noqa: F401 (re-exported)
from mlstack.engine.http_answer import Answer, Connection, Disconnected, ProtocolError

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any


class UnixSocketAPI:
    def __init__(self, url: str, timeout: float | None):
        self.path = url[len("unix://"):]
        self.timeout = timeout
        self.local = threading.local()   # a kept-alive connection per thread: preflight asks from several

    @property
    def connection(self) -> Connection | None:
        return getattr(self.local, "connection", None)

    @connection.setter
    def connection(self, value: Connection | None) -> None:
        self.local.connection = value

    def _get(self, path: str, query: dict | None = None) -> Any:
        return self._call("GET", path, query)

    def _call(self, method: str, path: str, query: dict | None = None, document: dict | None = None) -> Any:
        """One request with an optional JSON body on the kept-alive connection; its decoded answer."""
        target = path + (f"?{urlencode(query)}" if query else "")
        what = f"{method} {path}"
        body = json.dumps(document).encode() if document is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        for attempt in (1, 2):  # a kept-alive connection the engine closed is retried once
            if self.connection is None:
                self.connection = Connection(self.path, self.timeout)
            try:
                self.connection.request(method, target, body=body, headers=headers)
                response = self.connection.answer()
                answer = response.read()
                if not response.reusable:
                    self._drop()
                break
            except (Disconnected, BrokenPipeError, ConnectionResetError) as error:
                self._drop()
                if attempt == 2:
                    raise failure(what, f"the connection closed before the answer ({type(error).__name__})") from None
            except (FileNotFoundError, ConnectionRefusedError, PermissionError) as error:
                self._drop()
                raise Unreachable(error.strerror or str(error)) from None
            except socket.timeout:
                self._drop()
                raise failure(what, f"no answer within {self.timeout:g} s") from None
            except (OSError, ProtocolError) as error:
                self._drop()
                raise failure(what, error) from None
        check(what, response.status, answer)
        if answer[:1] in (b"{", b"["):
            try:
                return json.loads(answer)
            except ValueError as error:
                raise failure(what, f"the answer is not valid JSON ({error})") from None
        return answer.decode(errors="replace")

    def _drop(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection = None

    def ping(self) -> bool:
        return self._get("/_ping") == "OK"

    def info(self) -> dict:
        return _expect(dict, "GET /info", self._get("/info"))

    def inspect_image(self, reference: str) -> dict:
        path = f"/images/{quote(reference, safe='')}/json"
        return _expect(dict, f"GET {path}", self._get(path))

    def containers(self, all: bool = False, filters: dict | None = None) -> list[dict]:  # noqa: A002 (the API's word)
        query = {"all": "1" if all else "0"}
        if filters:
            query["filters"] = json.dumps(filters)
        return _expect(list, "GET /containers/json", self._get("/containers/json", query))

    def inspect_container(self, container: str) -> dict:
        path = f"/containers/{quote(container, safe='')}/json"
        return _expect(dict, f"GET {path}", self._get(path))

    def volumes(self, filters: dict | None = None) -> dict:
        return _expect(dict, "GET /volumes", self._get("/volumes", {"filters": json.dumps(filters)} if filters else None))

    # --- the seeding helper's calls: the SDK's names and arguments, so SdkAPI answers them too ---

    def images(self) -> list[dict]:
        return _expect(list, "GET /images/json", self._get("/images/json"))

    def create_volume(self, name: str, driver: str = "local", driver_opts: dict | None = None,
                      labels: dict | None = None) -> dict:
        document = {"Name": name, "Driver": driver, "DriverOpts": driver_opts or {}, "Labels": labels or {}}
        return _expect(dict, "POST /volumes/create", self._call("POST", "/volumes/create", document=document))

    def create_container_from_config(self, config: dict) -> dict:
        return _expect(dict, "POST /containers/create", self._call("POST", "/containers/create", document=config))

    def start(self, container: str) -> None:
        self._call("POST", f"/containers/{quote(container, safe='')}/start")

    def remove_container(self, container: str, force: bool = False) -> None:
        self._call("DELETE", f"/containers/{quote(container, safe='')}", {"force": "1" if force else "0"})

    def put_archive(self, container: str, path: str, data) -> bool:
        """A tar into a (created) container: bytes, a body with a length, or chunks of unknown total."""
        from mlstack.engine import api_stream

        api_stream.put_archive(self._open, container, path, data)
        return True

    def get_archive(self, container: str, path: str):
        """(the tar's chunks, as they arrive on a connection of their own; the path's stat)."""
        from mlstack.engine import api_stream

        return api_stream.get_archive(self._open, container, path)

    def attach(self, container: str, stdout: bool = True, stderr: bool = True, stream: bool = True,
               logs: bool = False):
        """The container's output (stdout and stderr as they come), from its start or now (`logs`)."""
        from mlstack.engine import api_stream

        return api_stream.attach(self._open, container, stdout, stderr, logs)

    def _open(self) -> socket.socket:
        """A fresh socket to the engine, for one streaming request."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except (FileNotFoundError, ConnectionRefusedError, PermissionError) as error:
            sock.close()
            raise Unreachable(error.strerror or str(error)) from None
        except OSError as error:
            sock.close()
            raise failure(f"to connect to {self.path}", error) from None
        return sock

    def events(self, filters: dict) -> "EventStream":
        """The engine's events from now on (the answer's headers have arrived when this returns), on a
        connection of their own; iterating blocks until the next event or the end of the stream."""
        connection = Connection(self.path, self.timeout)
        try:
            connection.request("GET", "/events?" + urlencode({"filters": json.dumps(filters)}))
            response = connection.answer()
        except (FileNotFoundError, ConnectionRefusedError, PermissionError) as error:
            connection.close()
            raise Unreachable(error.strerror or str(error)) from None
        except (OSError, ProtocolError) as error:
            connection.close()
            raise failure("GET /events", error) from None
        if response.status != 200:
            try:
                said = response.read().decode(errors="replace").strip()[:300] if response.framed else ""
            except (OSError, ProtocolError):
                said = ""
            connection.close()
            raise failure("GET /events", f"HTTP {response.status} {said}")
        assert connection.sock is not None
        connection.sock.settimeout(None)   # an event may be minutes away; close() ends the wait
        return EventStream(connection, response)


class EventStream:
    """One JSON object per line (the engine's stream encoder), until the engine or `close()` ends it."""

    def __init__(self, connection: Connection, response: Answer):
        self.connection = connection
        self.response = response

    def __iter__(self):
        while True:
            try:
                line = self.response.readline()
            except (OSError, ValueError, ProtocolError):   # closed under us, or cut mid-chunk
                return
            if not line:
                return
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError:
                    continue   # not an event: the follower skips it as it skips unknown ones

    def close(self) -> None:
        sock = self.connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)   # wakes the reading thread
            except OSError:
                pass
        self.connection.close()


def _expect(kind: type, what: str, answer: Any) -> Any:
    if not isinstance(answer, kind):
        raise failure(what, f"expected a JSON {'object' if kind is dict else 'array'}, got {str(answer)[:80]!r}")
    return answer


class SdkAPI:
    """The SDK's low-level client for remote engines, its errors translated as the stdlib path's are."""

    def __init__(self, url: str, timeout: float | None):
        import docker

        try:
            self.client = docker.APIClient(base_url=url, timeout=timeout)
        except Exception as error:  # noqa: BLE001 - DockerException, TLS and ssh errors, bad URLs
            raise failure(f"to connect to {url}", error) from None

    def events(self, filters: dict):
        """The SDK's event stream: decoded objects, `close()` ends it (as EventStream does)."""
        try:
            return self.client.events(filters=filters, decode=True)
        except Exception as error:  # noqa: BLE001 - as in __getattr__
            raise failure("GET /events", error) from None

    def __getattr__(self, name: str):
        method = getattr(self.client, name)

        def call(*args, **kwargs):
            try:
                return method(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - requests, urllib3, paramiko and docker.errors
                if is_not_found(error):
                    raise NotFound(str(error)) from None
                if type(error).__name__ == "ConnectionError":  # requests': nothing listens there
                    raise Unreachable(str(error)) from None
                status = getattr(error, "status_code", None)
                if isinstance(status, int) and status >= 400:   # docker.errors.APIError: the engine said no
                    raise Refused(name, status, str(getattr(error, "explanation", "") or error)[:300]) from None
                raise failure(name, error) from None

        return call


def needs_sdk(url: str) -> bool:
    """Only unix sockets are spoken to with the stdlib; tcp (TLS) and ssh engines need the SDK's transports."""
    return not url.startswith("unix://")


def connect(url: str, timeout: float | None):
    """An API object for `url`: the stdlib for unix sockets, the SDK's APIClient otherwise."""
    if not needs_sdk(url):
        return UnixSocketAPI(url, timeout)
    return SdkAPI(url, timeout)


def is_not_found(error: Exception) -> bool:
    if isinstance(error, NotFound):
        return True
    return type(error).__name__ in ("NotFound", "ImageNotFound")
