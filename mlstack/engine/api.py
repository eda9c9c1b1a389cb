"""The read-only Docker Engine API calls mlstack makes on every lifecycle command.

Over a local unix socket they go through the standard library (http.client): importing the
Docker SDK costs ~200 ms (requests, urllib3), more than `mlstack status`'s whole budget. Remote
engines (tcp with TLS, ssh) go through the SDK's low-level client, which knows those transports.
Both answer the same methods with the Engine API's JSON.
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import quote, urlencode


class NotFound(Exception):
    pass


class APIFailure(Exception):
    pass


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class UnixSocketAPI:
    def __init__(self, url: str, timeout: float):
        self.path = url[len("unix://"):]
        self.timeout = timeout
        self.connection: _UnixConnection | None = None

    def _get(self, path: str, query: dict | None = None) -> Any:
        target = path + (f"?{urlencode(query)}" if query else "")
        for attempt in (1, 2):  # a kept-alive connection the engine closed is retried once
            if self.connection is None:
                self.connection = _UnixConnection(self.path, self.timeout)
            try:
                self.connection.request("GET", target)
                response = self.connection.getresponse()
                body = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        if response.status == 404:
            raise NotFound(path)
        if response.status >= 400:
            raise APIFailure(f"GET {path}: {response.status} {body.decode(errors='replace')[:300]}")
        return json.loads(body) if body and body[:1] in (b"{", b"[") else body.decode()

    def ping(self) -> bool:
        return self._get("/_ping") == "OK"

    def info(self) -> dict:
        return self._get("/info")

    def inspect_image(self, reference: str) -> dict:
        return self._get(f"/images/{quote(reference, safe='')}/json")

    def containers(self, all: bool = False, filters: dict | None = None) -> list[dict]:  # noqa: A002 (the API's word)
        query = {"all": "1" if all else "0"}
        if filters:
            query["filters"] = json.dumps(filters)
        return self._get("/containers/json", query)

    def inspect_container(self, container: str) -> dict:
        return self._get(f"/containers/{quote(container, safe='')}/json")

    def volumes(self, filters: dict | None = None) -> dict:
        return self._get("/volumes", {"filters": json.dumps(filters)} if filters else None)


def connect(url: str, timeout: float):
    """An API object for `url`: the stdlib for unix sockets, the SDK's APIClient otherwise."""
    if url.startswith("unix://"):
        return UnixSocketAPI(url, timeout)
    import docker

    return docker.APIClient(base_url=url, timeout=timeout)


def is_not_found(error: Exception) -> bool:
    if isinstance(error, NotFound):
        return True
    return type(error).__name__ in ("NotFound", "ImageNotFound")
