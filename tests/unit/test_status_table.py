"""The status table: every service's published ports as the engine bound them, and a URL where
the merged x-mlstack.urls rows describe one."""

from __future__ import annotations

import json
from pathlib import Path

from mlstack.core.ports import Binding
from mlstack.lifecycle.health import parse_ps
from mlstack.lifecycle.running import expected_services
from mlstack.lifecycle.status_table import format_table, host_url, table

FIXTURES = Path(__file__).parent / "fixtures"

DOCUMENT = {
    "services": {"jupyter": {}, "mlflow": {"depends_on": {"postgres": {}}}, "postgres": {}, "qdrant": {}, "redis": {},
                 "trainer": {"profiles": ["train"], "depends_on": ["redis"]}},
    "x-mlstack": {"urls": [
        {"service": "qdrant", "port": 6333, "path": "/dashboard", "label": "Qdrant dashboard"},
        {"service": "mlflow", "port": 5000, "path": "/", "label": "MLflow UI"},
        {"service": "jupyter", "port": 8888, "path": "/lab", "label": "JupyterLab", "query": "token=${JUPYTER_TOKEN:-}"},
    ]},
}


def publisher(target: int, published: int, address: str = "127.0.0.1", protocol: str = "tcp") -> tuple[Binding, ...]:
    return (Binding(address, published, target, protocol),)


def test_host_url_uses_the_published_port_and_localhost():
    row = {"service": "mlflow", "port": 5000, "path": "/"}
    assert host_url(publisher(5000, 5001), row, {}) == "http://localhost:5001/"
    assert host_url(publisher(5000, 5000, "0.0.0.0"), row, {}) == "http://localhost:5000/"
    assert host_url(publisher(5000, 5000, "192.0.2.10"), row, {}) == "http://192.0.2.10:5000/"
    assert host_url(publisher(5000, 5000, "::"), row, {}) == "http://localhost:5000/"
    assert host_url(publisher(5000, 5000, "2001:db8::1"), row, {}) == "http://[2001:db8::1]:5000/"
    assert host_url(publisher(5000, 5000, protocol="udp"), row, {}) is None
    assert host_url((), row, {}) is None


def test_the_query_is_interpolated_and_empty_parameters_dropped():
    row = {"service": "jupyter", "port": 8888, "path": "/lab", "query": "token=${JUPYTER_TOKEN:-}"}
    assert host_url(publisher(8888, 8888), row, {"JUPYTER_TOKEN": "s3cret"}) == "http://localhost:8888/lab?token=s3cret"
    assert host_url(publisher(8888, 8888), row, {}) == "http://localhost:8888/lab"
    assert host_url(publisher(8888, 8888), dict(row, query="token=abc"), {}) == "http://localhost:8888/lab?token=abc"


def test_the_query_is_interpolated_as_compose_does_it():
    row = {"service": "jupyter", "port": 8888, "path": "/lab"}
    url = lambda query, env: host_url(publisher(8888, 8888), dict(row, query=query), env)
    assert url("token=$${T-dflt}", {"T": ""}) == "http://localhost:8888/lab"             # `-`: only unset takes the default
    assert url("token=$${T:-dflt}", {"T": ""}) == "http://localhost:8888/lab?token=dflt"  # `:-`: empty too
    assert url("token=$${T-dflt}", {}) == "http://localhost:8888/lab?token=dflt"
    assert url("a=$T&b=$${U:+yes}", {"T": "1", "U": "x"}) == "http://localhost:8888/lab?a=1&b=yes"
    assert url("token=$${T:?set T}", {}) == "http://localhost:8888/lab"                  # cannot: no query


def test_table_from_recorded_ps():
    containers = parse_ps((FIXTURES / "compose-ps-dev.ndjson").read_text())
    rows = table(DOCUMENT, containers, ["jupyter", "mlflow", "postgres", "qdrant", "redis", "trainer"],
                 {"JUPYTER_TOKEN": "t0k"})
    assert format_table(rows) == "\n".join([
        "SERVICE   STATE        HEALTH   PORTS                               URL",
        "jupyter   running      healthy  127.0.0.1:8888->8888/tcp            http://localhost:8888/lab?token=t0k",
        "mlflow    running      healthy  127.0.0.1:5000->5000/tcp            http://localhost:5000/",
        "postgres  running      healthy  127.0.0.1:5432->5432/tcp",
        "qdrant    running      healthy  127.0.0.1:6333-6334->6333-6334/tcp  http://localhost:6333/dashboard",
        "redis     running      healthy  127.0.0.1:6379->6379/tcp",
        "trainer   not created  -",
    ])
    assert rows[0] == {"service": "jupyter", "state": "running", "health": "healthy", "verdict": "ready",
                       "detail": "healthy", "label": "JupyterLab", "url": "http://localhost:8888/lab?token=t0k",
                       "ports": [{"host_ip": "127.0.0.1", "published": 8888, "target": 8888, "protocol": "tcp",
                                  "shown": "127.0.0.1:8888->8888/tcp"}]}
    assert [port["shown"] for port in rows[3]["ports"]] == ["127.0.0.1:6333->6333/tcp", "127.0.0.1:6334->6334/tcp"]
    assert rows[5]["ports"] == []
    json.dumps(rows)   # --json prints these as they are


TEAM = {"services": {"web": {}, "worker": {}},
        "x-mlstack": {"urls": [{"service": "web", "port": 9000, "path": "/", "label": "web"},
                               {"service": "web", "port": 9200, "path": "/metrics", "label": "metrics"},
                               {"service": "worker", "port": 7000, "path": "/", "label": "worker"}]}}


def test_a_team_fragment_s_fixed_and_ephemeral_ports_show_as_the_engine_bound_them():
    """Recorded from fixtures/ports-compose.yaml: `127.0.0.1:18081:8080`, `9000` (the engine chooses),
    a range, `127.0.0.1::9200`, a UDP port on every address, an exposed-only port."""
    rows = table(TEAM, parse_ps((FIXTURES / "compose-ps-ports.ndjson").read_text()), ["web", "worker"], {})
    ports = ("127.0.0.1:18081->8080/tcp, 0.0.0.0:18082->8082/udp, 0.0.0.0:32769->9000/tcp, [::]:32768->9000/tcp, "
             "127.0.0.1:19000->9100/tcp, 127.0.0.1:32768->9200/tcp")
    assert format_table(rows).splitlines() == [
        "SERVICE  STATE    HEALTH          PORTS" + " " * (len(ports) - 3) + "URL",
        f"web      running  no healthcheck  {ports}  http://localhost:32769/",
        "web      running  no healthcheck  " + " " * len(ports) + "  http://localhost:32768/metrics",
        "worker   running  no healthcheck  " + " " * len(ports) + "  (not published)",
    ]


def test_expected_services_follow_selection_dependencies_and_compose_profiles():
    assert expected_services(DOCUMENT, [], (), {}) == ["jupyter", "mlflow", "postgres", "qdrant", "redis"]
    assert expected_services(DOCUMENT, ["mlflow"], (), {}) == ["mlflow", "postgres"]
    assert expected_services(DOCUMENT, [], ("train",), {})[-2:] == ["redis", "trainer"]
    assert expected_services(DOCUMENT, ["trainer"], (), {}) == ["redis", "trainer"]
    assert expected_services(DOCUMENT, [], (), {"COMPOSE_PROFILES": "train"})[-2:] == ["redis", "trainer"]
