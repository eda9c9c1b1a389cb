"""Preflight logic without an engine: published ports, --port-offset, conflicts and their messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlstack.lifecycle.preflight import free_port_after, port_conflicts, remap_variable
from mlstack.core.model import Origin, from_data
from mlstack.core.ports import ModelPort, offset_ports, published_ports
from mlstack.engine.docker_facts import PublishedPort
from mlstack.errors import ChoiceError, ExitCode

ROOT = Path(__file__).resolve().parents[2]
DEV = Origin("mlstack:overrides/dev.yaml", 45)


def model():
    port = lambda published, target, ip="127.0.0.1": {"target": target, "published": published, "host_ip": ip,
                                                        "protocol": "tcp", "mode": "ingress"}
    return from_data({"services": {
        "mlflow": {"ports": [port("5000", 5000)]},
        "qdrant": {"ports": [port("6333", 6333), port("6334", 6334)]},
        "api": {"ports": [{"target": 8000}]},                 # unpublished: ignored
        "web": {"ports": [port("8080-8085", 80, "")]},
    }}, DEV)


def test_published_ports():
    assert [(p.service, p.host_ip, p.published, p.target) for p in published_ports(model())] == [
        ("mlflow", "127.0.0.1", 5000, 5000), ("qdrant", "127.0.0.1", 6333, 6333),
        ("qdrant", "127.0.0.1", 6334, 6334), ("web", "", 8080, 80)]


def test_port_offset_shifts_every_published_port_ranges_too():
    root = model()
    assert offset_ports(root, 100) == ["mlflow: 5000 -> 5100", "qdrant: 6333 -> 6433", "qdrant: 6334 -> 6434",
                                       "web: 8080-8085 -> 8180-8185"]
    assert [p.published for p in published_ports(root)] == [5100, 6433, 6434, 8180]
    untouched = model()
    with pytest.raises(ChoiceError) as caught:
        offset_ports(untouched, 60000)
    assert caught.value.message == "--port-offset 60000 moves qdrant's port 6333 out of 1-65535"
    assert caught.value.exit_code == ExitCode.USAGE
    assert [p.published for p in published_ports(untouched)] == [5000, 6333, 6334, 8080]   # all or nothing


def mp(service: str, port: int, ip: str = "127.0.0.1") -> ModelPort:
    return ModelPort(service, 0, ip, port, port, "tcp", DEV)


def engine_port(port: int, project: str, ip: str = "0.0.0.0") -> PublishedPort:
    return PublishedPort(ip, port, "tcp", f"{project}-svc-1", project, "svc")


# (model ports, engine ports, ports that fail a bind here, expected (service, holder))
CONFLICTS = [
    ([mp("mlflow", 5000)], [], set(), []),
    ([mp("mlflow", 5000)], [engine_port(5000, "other-dev")], set(),
     [("mlflow", "container other-dev-svc-1 (service svc of Compose project other-dev)")]),
    # this stack's own running container: `up` again is fine (docker-proxy makes the bind fail)
    ([mp("mlflow", 5000)], [engine_port(5000, "team-dev")], {5000}, []),
    # different host addresses do not collide; a wildcard collides with everything
    ([mp("mlflow", 5000)], [engine_port(5000, "other-dev", "192.0.2.7")], set(), []),
    ([mp("mlflow", 5000, "")], [engine_port(5000, "other-dev", "127.0.0.1")], set(),
     [("mlflow", "container other-dev-svc-1 (service svc of Compose project other-dev)")]),
    ([mp("mlflow", 5000), mp("redis", 6379)], [], {6379}, [("redis", "python3 (pid 7)")]),
]


@pytest.mark.parametrize("ports, engine_ports, taken, expected", CONFLICTS)
def test_port_conflicts(ports, engine_ports, taken, expected):
    found = port_conflicts(ports, engine_ports, "team-dev", lambda ip, port, proto: port not in taken,
                           lambda port: "python3 (pid 7)")
    assert [(c.port.service, c.holder) for c in found] == expected


def test_a_remote_engine_skips_the_bind_test():
    assert port_conflicts([mp("mlflow", 5000)], [], "team-dev", None, lambda port: None) == []


def test_remap_variable_is_the_one_interpolation_recorded_for_the_port():
    assert remap_variable(Origin("dev.yaml", 45, variables=(("MLFLOW_PORT", "5000"),)), 5000) == "MLFLOW_PORT"
    assert remap_variable(Origin("a.yaml", 3, variables=(("HOST_IP", "127.0.0.1"), ("PORT", "8080"))), 8080) == "PORT"
    assert remap_variable(Origin("prod.yaml", 46, variables=(("API_PORTS", "8000-8001"),)), 8000) == "API_PORTS"
    assert remap_variable(Origin("a.yaml", 3, variables=(("PORT", "9000"),)), 8080) == "PORT"   # set by hand
    assert remap_variable(Origin("a.yaml", 3), 5000) is None


def test_the_dev_profile_ports_name_their_variables():
    from mlstack.core.pipeline import build
    from mlstack.core.stack import default_stack

    rendered = build(default_stack(ROOT), "dev", {"MLFLOW_PORT": "5001"})
    ports = {port.service: port for port in published_ports(rendered.root)}
    assert remap_variable(ports["mlflow"].origin, ports["mlflow"].published) == "MLFLOW_PORT"
    assert ports["mlflow"].published == 5001
    assert remap_variable(ports["redis"].origin, 6379) == "REDIS_PORT"


def test_free_port_after_skips_used_and_already_suggested_ports():
    ports = [mp("qdrant", 6333), mp("qdrant", 6334)]
    suggested: set[int] = set()
    taken_here = {6335}
    free = lambda ip, port, proto: port not in taken_here
    assert free_port_after(ports[0], ports, [], free, suggested) == 6336
    assert free_port_after(ports[1], ports, [engine_port(6337, "x")], free, suggested) == 6338
    assert suggested == {6336, 6338}


@pytest.mark.parametrize("value, expected", [
    (8080, range(8080, 8081)), ("8080", range(8080, 8081)), ("8000-8010", range(8000, 8011)),
    ("", range(0)), (None, range(0)), (True, range(0)), ("8010-8000", range(0)), ("70000", range(0)), ("80a", range(0)),
])
def test_port_range_reads_every_form_of_a_published_port(value, expected):
    from mlstack.core.ports import port_range

    assert port_range(None if value is None else from_data(value, Origin())) == expected
