"""What the engine bound, read from `compose ps` or `docker inspect`, and written as `docker ps` does.

`ports-compose.yaml` is the stack the two recordings come from (on the test engine, Docker 20.10,
Compose 5.6.1): a team fragment's fixed `127.0.0.1:18081:8080`, ephemeral ports (published left
empty, a range, `127.0.0.1::9200`), a UDP port on every address, and an exposed-only port.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlstack.core.ports import Binding, bindings_from_inspect, bindings_from_publishers, distinct, port_text, shown_ports

FIXTURES = Path(__file__).parent / "fixtures"

# What the engine bound for the recorded stack, as `status` shows it.
RECORDED = {
    "web": [
        "127.0.0.1:18081->8080/tcp",   # fixed
        "0.0.0.0:18082->8082/udp",     # every address: its `::` twin (same host port) is not repeated
        "0.0.0.0:32769->9000/tcp",     # ephemeral: Docker 20.10 chose different host ports for IPv4 ...
        "[::]:32768->9000/tcp",        # ... and IPv6, so both show
        "127.0.0.1:19000->9100/tcp",   # a range 19000-19010: the port the engine picked
        "127.0.0.1:32768->9200/tcp",   # ephemeral on loopback
    ],
    "worker": [],                      # `expose: [7000]`: reachable in the stack's network only
}


def recorded_ps() -> dict[str, tuple[Binding, ...]]:
    rows = [json.loads(line) for line in (FIXTURES / "compose-ps-ports.ndjson").read_text().splitlines()]
    return {row["Service"]: bindings_from_publishers(row["Publishers"]) for row in rows}


def recorded_inspect() -> dict[str, tuple[Binding, ...]]:
    containers = json.loads((FIXTURES / "container-inspect-ports.json").read_text())
    return {c["Config"]["Labels"]["com.docker.compose.service"]: bindings_from_inspect(c["NetworkSettings"]["Ports"])
            for c in containers}


def test_the_ports_compose_ps_recorded():
    assert {service: [b.shown for b in bindings] for service, bindings in recorded_ps().items()} == RECORDED


def test_inspect_data_reads_the_same_as_compose_ps():
    assert recorded_inspect() == recorded_ps()


def b(address: str, published: int, target: int, protocol: str = "tcp") -> Binding:
    return Binding(address, published, target, protocol)


# (what the engine bound, what status shows)
SHOWN = [
    ([b("0.0.0.0", 8080, 80), b("::", 8080, 80)], ["0.0.0.0:8080->80/tcp"]),
    ([b("::", 8080, 80)], ["[::]:8080->80/tcp"]),
    ([b("::1", 8080, 80), b("127.0.0.1", 8080, 80)], ["127.0.0.1:8080->80/tcp", "[::1]:8080->80/tcp"]),
    ([b("0.0.0.0", 0, 5432)], []),
    ([b("127.0.0.1", 6334, 6334), b("127.0.0.1", 6333, 6333)], ["127.0.0.1:6333-6334->6333-6334/tcp"]),
    ([b("127.0.0.1", 6333, 6333), b("127.0.0.1", 7000, 6334)], ["127.0.0.1:6333->6333/tcp", "127.0.0.1:7000->6334/tcp"]),
    ([b("127.0.0.1", 53, 53, "udp"), b("127.0.0.1", 53, 53)], ["127.0.0.1:53->53/tcp", "127.0.0.1:53->53/udp"]),
    ([b("0.0.0.0", 8000, 8000), b("0.0.0.0", 8000, 8000)], ["0.0.0.0:8000->8000/tcp"]),
]


@pytest.mark.parametrize("bound, shown", SHOWN)
def test_bindings_are_shown_once_like_docker_ps(bound, shown):
    assert shown_ports(distinct(bound)) == shown


def test_compose_ps_publishers_with_an_empty_address_mean_every_address():
    assert bindings_from_publishers([{"URL": "", "TargetPort": 80, "PublishedPort": 8080, "Protocol": "tcp"},
                                     {"URL": "", "TargetPort": 81, "PublishedPort": 0, "Protocol": "tcp"}]) == (
        b("0.0.0.0", 8080, 80),)
    assert bindings_from_inspect(None) == bindings_from_inspect({"80/tcp": None}) == ()


def test_port_text_as_docker_ps_writes_it():
    assert port_text("", 5432, 5432, "tcp") == "0.0.0.0:5432->5432/tcp"
    assert port_text("::1", "8000-8001", "80-81", "tcp") == "[::1]:8000-8001->80-81/tcp"
    assert b("192.0.2.10", 18081, 8080).as_json() == {"host_ip": "192.0.2.10", "published": 18081, "target": 8080,
                                                     "protocol": "tcp", "shown": "192.0.2.10:18081->8080/tcp"}
