"""Typed fields: (a service's fields, every diagnostic as the user reads it), and the scalar readers.

The differential suite (tests/golden) checks each rule against Compose itself; these cases say
what the rules are, and with which words mlstack reports a value Compose cannot decode.
"""

from __future__ import annotations

import textwrap

import pytest

from mlstack.core.canonical import canonical
from mlstack.core.fields import typed_fields
from mlstack.core.go_values import duration_problem, go_float, port_range, size_in_bytes, size_problem
from mlstack.core.load import parse_yaml
from mlstack.errors import StackError


def diagnostics(fields: str) -> list[str]:
    text = "services:\n  s:\n    image: alpine\n" + textwrap.indent(textwrap.dedent(fields), "    ")
    return [str(diagnostic) for diagnostic in typed_fields(canonical(parse_yaml(text, "compose.yaml")))]


CASES = [
    ("sizes Compose reads", """
        shm_size: 16 gb
        mem_limit: "1.5g"
        mem_reservation: 512 MiB
        memswap_limit: -1
        build: {context: ., shm_size: "1_000"}
        deploy: {resources: {limits: {memory: "1536m"}}}
        volumes: [{type: tmpfs, target: /t, tmpfs: {size: "1 kb", mode: 0o777}}]
     """, []),
    ("a size with an unknown unit", "shm_size: 16 gigabytes\n",
     ["compose.yaml:4:15: services.s.shm_size: invalid size '16 gigabytes': unknown unit 'gigabytes' "
      "(expected b, k, m, g, t or p, optionally followed by b or ib)"]),
    ("a negative size with a unit", 'memswap_limit: "-1g"\n',
     ["compose.yaml:4:20: services.s.memswap_limit: invalid size '-1g': a size with a unit or a fraction cannot be negative"]),
    ("a size in a blkio rate", "blkio_config: {device_read_bps: [{path: /dev/sda, rate: 1x}]}\n",
     ["compose.yaml:4:61: services.s.blkio_config.device_read_bps[0].rate: invalid size '1x': unknown unit 'x' "
      "(expected b, k, m, g, t or p, optionally followed by b or ib)"]),
    ("durations Compose reads", """
        stop_grace_period: 1m30s
        healthcheck: {interval: 1.5h, timeout: 500ms, start_period: 10µs, start_interval: "0"}
        deploy: {restart_policy: {delay: 2d3h, window: "-5s"}}
     """, []),
    ("a duration with an upper-case unit", "healthcheck: {interval: 10S}\n",
     ["compose.yaml:4:29: services.s.healthcheck.interval: invalid duration '10S': unknown unit 'S' "
      "(ns, us, ms, s, m, h, d or w)"]),
    ("a duration whose last number has no unit", "stop_grace_period: 1m1\n",
     ["compose.yaml:4:24: services.s.stop_grace_period: invalid duration '1m1': 1 has no unit "
      "(ns, us, ms, s, m, h, d or w)"]),
    ("cpus that are not a number", 'deploy: {resources: {limits: {cpus: "two"}}}\n',
     ["compose.yaml:4:41: services.s.deploy.resources.limits.cpus: invalid number of CPUs: 'two' is not a number"]),
    ("a limit set twice, differently", "mem_limit: 1g\ndeploy: {resources: {limits: {memory: 1025m}}}\n",
     ["compose.yaml:3:5: services.s: mem_limit (1g) and deploy.resources.limits.memory (1025m) differ: "
      "set only one of them"]),
    ("a limit set twice, equal once decoded", "mem_limit: 1g\ndeploy: {resources: {limits: {memory: 1024m}}}\n", []),
    ("GPU counts", 'gpus: [{count: "All"}, {count: "+1"}, {count: " 1"}, {count: 1, device_ids: []}]\n',
     ["compose.yaml:4:51: services.s.gpus[2].count: invalid count ' 1': expected all or a number",
      'compose.yaml:4:58: services.s.gpus[3]: "count" and "device_ids" cannot both be set: '
      "count asks for any devices, device_ids for these ones"]),
    ("extra hosts", 'extra_hosts: ["a:::1", "b=[::1]", "db", ":1.2.3.4"]\n',
     ["compose.yaml:4:39: services.s.extra_hosts[2]: invalid extra host 'db': expected HOST:IP or HOST=IP",
      "compose.yaml:4:45: services.s.extra_hosts[3]: invalid host name '' in extra_hosts: it must be non-empty, "
      "without ':' or '='"]),
    ("devices", 'devices: ["nvidia.com/gpu=all", "/dev/a:/dev/b:rw:x", {source: /dev/c}]\n',
     ["compose.yaml:4:37: services.s.devices[1]: invalid device '/dev/a:/dev/b:rw:x': "
      "expected HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]] (or use the long syntax)",
      "compose.yaml:4:59: services.s.devices[2]: a device needs a target (the path in the container)"]),
    ("long-syntax ports", 'ports: [{target: 80, host_ip: ""}, {target: 81, published: 0081}, {target: -1}]\n',
     ["compose.yaml:4:35: services.s.ports[0].host_ip: invalid host_ip: an empty host_ip is not an address: "
      "leave host_ip out",
      "compose.yaml:4:64: services.s.ports[1].published: invalid published port 81.0: "
      "expected an integer or a string",
      "compose.yaml:4:80: services.s.ports[2].target: invalid target port -1: expected 0-4294967295"]),
    ("counts that cannot be negative", "deploy: {replicas: -1}\nhealthcheck: {retries: -2}\n",
     ["compose.yaml:4:24: services.s.deploy.replicas: -1 is negative: expected 0 or more",
      "compose.yaml:5:28: services.s.healthcheck.retries: -2 is negative: expected 0 or more"]),
    ("a healthcheck test's first word", 'healthcheck: {test: ["cmd", "true"]}\n',
     ["compose.yaml:4:25: services.s.healthcheck.test: a healthcheck test list starts with CMD, CMD-SHELL or NONE, "
      "not 'cmd'"]),
    ("mounts", "volumes: [{type: bind, target: /a}, {type: tmpfs}]\n",
     ["compose.yaml:4:15: services.s.volumes[0]: a bind mount needs a source (the path on the host)",
      "compose.yaml:4:41: services.s.volumes[1]: a mount needs a target (the path in the container)"]),
]


@pytest.mark.parametrize("fields, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_typed_fields(fields: str, expected: list[str]) -> None:
    assert diagnostics(fields) == expected


@pytest.mark.parametrize("text, expected", [
    ("16g", 16 * 1024**3), ("16 GB", 16 * 1024**3), ("1.5k", 1536), ("512KiB", 512 * 1024), ("-1", -1),
    ("1_000", 1000), ("1 ", 1), (7, 7), (1.5, 0),
])
def test_size_in_bytes(text, expected) -> None:
    assert size_problem(text) is None if isinstance(text, str) else True
    assert size_in_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "g", "inf", "0x10", " 16g", "16g ", "1 . 5g", "1ib", "1kbb", "1e400", "-0.5"])
def test_sizes_compose_rejects(text: str) -> None:
    assert size_problem(text) is not None


@pytest.mark.parametrize("text, valid", [
    ("1m30s", True), ("1.5h", True), (".5s", True), ("5.s", True), ("-0", True), ("+5s", True), ("1w", True),
    ("10μs", True), ("0", True), ("", False), ("s", False), ("5 s", False), ("1e3s", False), ("1_0s", False),
    ("00", False), ("2562047h", True), ("2562048h", False),
])
def test_durations(text: str, valid: bool) -> None:
    assert (duration_problem(text) is None) is valid


@pytest.mark.parametrize("text, value", [("1e3", 1000.0), ("1_0", 10.0), ("0x1p2", 4.0), (".5", 0.5), ("+1.", 1.0)])
def test_go_float(text: str, value: float) -> None:
    assert go_float(text) == value


@pytest.mark.parametrize("text", ["1__0", "_1", "0x10", "1e", " 1", "1e400", ""])
def test_go_float_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        go_float(text)


def test_float32_range() -> None:
    assert go_float("3.4e38", 32) == 3.4e38
    with pytest.raises(ValueError):
        go_float("3.5e38", 32)


@pytest.mark.parametrize("text, expected", [
    ("80", (80, 80)), ("+80", (80, 80)), ("080", (80, 80)), ("8000-8010", (8000, 8010)), ("80-+81", (80, 81)),
    ("82-80", None), ("65536", None), ("-1", None), ("8_0", None), ("1-2-3", None), (" 80", None),
])
def test_port_range(text: str, expected) -> None:
    assert port_range(text) == expected


def short_ports(*specs: str) -> list[dict]:
    text = "services:\n  s:\n    image: alpine\n    ports: [" + ", ".join(f'"{spec}"' for spec in specs) + "]\n"
    return canonical(parse_yaml(text, "compose.yaml")).find(("services", "s", "ports")).to_data()


@pytest.mark.parametrize("spec, expected", [
    (":2283:2283", [{"target": 2283, "published": "2283", "protocol": "tcp", "mode": "ingress"}]),
    ("0080:080/TCP", [{"target": 80, "published": "80", "protocol": "tcp", "mode": "ingress"}]),
    ("::1:8080:80", [{"target": 80, "published": "8080", "host_ip": "::1", "protocol": "tcp", "mode": "ingress"}]),
    ("[::1]::80/sctp", [{"target": 80, "host_ip": "::1", "protocol": "sctp", "mode": "ingress"}]),
    ("8000-8002:80", [{"target": 80, "published": "8000-8002", "protocol": "tcp", "mode": "ingress"}]),
    ("9999-10000:9999-10000", [{"target": 10000, "published": "10000", "protocol": "tcp", "mode": "ingress"},
                               {"target": 9999, "published": "9999", "protocol": "tcp", "mode": "ingress"}]),
])
def test_short_ports(spec: str, expected: list[dict]) -> None:
    assert short_ports(spec) == expected


@pytest.mark.parametrize("spec, message", [
    ("99999999:80", "invalid port '99999999:80': '99999999' is not a port or a range of ports (0-65535)"),
    ("80/xyz", "invalid port '80/xyz': unknown protocol 'xyz' (tcp, udp or sctp)"),
    ("8000-8001:80-82", "invalid port '8000-8001:80-82': the host ports 8000-8001 and the container ports 80-82 "
                        "are not ranges of the same length"),
    ("8080:0", "invalid port '8080:0': no container port (0 is not one)"),
    ("fe80::1%eth0:80:80", "invalid port 'fe80::1%eth0:80:80': 'fe80::1%eth0' is not an IP address"),
    ("localhost:80:80", "invalid port 'localhost:80:80': 'localhost' is not an IP address"),
])
def test_short_ports_compose_rejects(spec: str, message: str) -> None:
    with pytest.raises(StackError) as raised:
        short_ports(spec)
    assert [str(diagnostic) for diagnostic in raised.value.diagnostics] == [f"compose.yaml:4:13: services.s.ports[0]: {message}"]


@pytest.mark.parametrize("spec, expected", [
    ("./extra:/extra:z", {"type": "bind", "source": "./extra", "target": "/extra",
                          "bind": {"selinux": "z", "create_host_path": True}}),
    ("./e:/e:ro,Z", {"type": "bind", "source": "./e", "target": "/e", "read_only": True,
                     "bind": {"selinux": "Z", "create_host_path": True}}),
    ("data:/d:nocopy,rshared", {"type": "volume", "source": "data", "target": "/d", "volume": {"nocopy": True},
                                "bind": {"propagation": "rshared"}}),
    ("c:/data:/d", {"type": "bind", "source": "c:/data", "target": "/d", "bind": {"create_host_path": True}}),
])
def test_short_volume_options(spec: str, expected: dict) -> None:
    text = f'services:\n  s:\n    image: alpine\n    volumes: ["{spec}"]\n'
    assert canonical(parse_yaml(text, "compose.yaml")).find(("services", "s", "volumes", 0)).to_data() == expected


@pytest.mark.parametrize("text", ["127.0.0.1", "0.0.0.0", "255.255.255.255", "01.2.3.4", "256.0.0.1", "1.2.3", "1.2.3.4.5",
                                  "1..2.3", "\u0661.2.3.4", "+1.2.3.4", " 1.2.3.4", "1.2.3.4 ", "::1", "fe80::1",
                                  "::ffff:1.2.3.4", "", "1.2.3.04", "localhost"])
def test_an_address_reads_as_ipaddress_reads_it_whether_or_not_the_dotted_quad_shortcut_answers(text: str) -> None:
    import ipaddress

    from mlstack.core.fields import ip_problem

    try:
        ipaddress.ip_address(text)
        expected = None
    except ValueError:
        expected = f"{text!r} is not an IP address"
    assert ip_problem(text) == expected
