"""Random fragment/override sets: Compose(files) must equal Compose(render), or both must reject them.

Each example writes 2-3 compose files to a scratch directory: the first declares every service
(with an image), every named volume and network; the later ones override random fields of random
services, in short, long and mixed forms, sometimes with `!reset` or `!override`. Typed fields
(sizes, durations, cpus, gpus, devices, extra hosts, port and volume spellings) are mostly values
Compose decodes and sometimes values it rejects: a set Compose rejects must be rejected by mlstack,
and a set Compose accepts must raise no typed-field diagnostic. Examples are
derandomized (the same on every run); MLSTACK_DIFF_EXAMPLES sets how many (default 150).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compose_diff import Case, compare, explain_mismatch, load, load_and_check, run_compose
from mlstack.core.validate import check
from mlstack.errors import StackError

pytestmark = pytest.mark.compose

SERVICES = ["api", "db", "web"]
NAMED_VOLUMES = ["cache", "data"]
NETWORKS = ["back", "front"]
CAPABILITIES = ["NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE", "CHOWN"]
IMAGES = ["alpine", "busybox:1.36", "nginx:1.27", "postgres:16"]


class Plain(str):
    """A scalar written unquoted, so YAML (not Python) decides its type: yes, 0755, 1e3, ~."""


class Tagged:
    def __init__(self, tag: str, value):
        self.tag, self.value = tag, value


# --- writing YAML: block style down to the fields, flow style below (one field per line) -----
def flow(value) -> str:
    if isinstance(value, Tagged):
        return f"{value.tag} {flow(value.value)}"
    if isinstance(value, Plain):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(flow(item) for item in value) + "]"
    return "{" + ", ".join(f"{json.dumps(key)}: {flow(item)}" for key, item in value.items()) + "}"


def block(document: dict) -> str:
    lines: list[str] = []
    for section, entries in document.items():
        if not isinstance(entries, dict) or section.startswith("x-"):
            lines.append(f"{section}: {flow(entries)}")
            continue
        lines.append(f"{section}:")
        for name, fields in entries.items():
            if not isinstance(fields, dict):
                lines.append(f"  {name}: {flow(fields)}")
                continue
            lines.append(f"  {name}:")
            lines.extend(f"    {field}: {flow(value)}" for field, value in fields.items())
    return "\n".join(lines) + "\n"


# --- field strategies ---------------------------------------------------------------------------
host_ports = st.integers(8000, 8005)
container_ports = st.sampled_from([80, 443, 5432, 6379])
protocols = st.sampled_from(["tcp", "udp"])

short_port = st.one_of(
    container_ports,
    st.builds(lambda host, target: f"{host}:{target}", host_ports, container_ports),
    st.builds(lambda host, target, proto: f"{host}:{target}/{proto}", host_ports, container_ports, protocols),
    st.builds(lambda host, target: f"127.0.0.1:{host}:{target}", host_ports, container_ports),
    st.builds(lambda low: f"{low}-{low + 1}:{low}-{low + 1}", st.integers(9000, 9003)),
    st.builds(lambda target: f"{target}", container_ports),
    st.builds(lambda ip, host, target, proto: f"{ip}:{host}:{target}{proto}", st.sampled_from(["", "::1", "[::1]", "0"]),
              host_ports.map(str) | host_ports.map(lambda port: f"0{port}"), container_ports,
              st.sampled_from(["", "/TCP", "/sctp", "/"])),
    st.builds(lambda low: f"{low}-{low + 2}:{low + 1}", st.integers(8100, 8103)),
    st.just("9999-10000:9999-10000"),
    st.sampled_from(["99999:80", "80/xyz", "8000-8001:80-82", "8080:0", "localhost:8080:80"]),  # Compose rejects these
)
long_port = st.fixed_dictionaries(
    {"target": container_ports},
    optional={"published": st.one_of(host_ports, host_ports.map(str)), "protocol": protocols,
              "host_ip": st.just("127.0.0.1"), "mode": st.sampled_from(["ingress", "host"])},
)
ports = st.lists(st.one_of(short_port, long_port), min_size=1, max_size=3)

targets = st.sampled_from(["/data", "/cache", "/etc/app", "/srv"])
short_volume = st.one_of(
    st.builds(lambda name, target: f"{name}:{target}", st.sampled_from(NAMED_VOLUMES), targets),
    st.builds(lambda source, target, mode: f"{source}:{target}{mode}", st.sampled_from(["./src", "./conf", "/opt/x"]),
              targets, st.sampled_from(["", ":ro", ":rw"])),
    st.builds(lambda name, target: f"{name}:{target}:nocopy", st.sampled_from(NAMED_VOLUMES), targets),
    st.builds(lambda source, target, options: f"{source}:{target}:{options}", st.sampled_from(["./src", "cache"]), targets,
              st.sampled_from(["z", "Z", "ro,z", "cached", "delegated", "rshared", "ro,rslave", "nocopy,Z", "bogus"])),
    targets,
)
long_volume = st.one_of(
    st.builds(lambda source, target, read_only: {"type": "bind", "source": source, "target": target, "read_only": read_only},
              st.sampled_from(["./src", "./conf"]), targets, st.booleans()),
    st.builds(lambda source, target: {"type": "volume", "source": source, "target": target},
              st.sampled_from(NAMED_VOLUMES), targets),
)
volumes = st.lists(st.one_of(short_volume, long_volume), min_size=1, max_size=3)

keys = st.sampled_from(["A", "B", "C", "FROM_SHELL", "HOME"])
plain_values = st.sampled_from([Plain(text) for text in (
    "yes", "on", "0755", "1.0", "1e3", "~", "true", "12", "-1", "x y", "0o17", "2024-01-31", "2024-2-1", "1_000", ".5")])
string_values = st.sampled_from(["", "1", "two words", "a=b", "$$literal", "${UNSET_VAR:-dflt}", "${FROM_SHELL}",
                                 "1e3", "0o17", "2024-2-1", "0x1F", "08", "true", "null"])
values = st.one_of(plain_values, string_values, st.none(), st.integers(-5, 5))
environment = st.one_of(
    st.dictionaries(keys, values, min_size=1, max_size=3),
    st.lists(st.one_of(keys, st.builds(lambda key, value: f"{key}={value}", keys, string_values)), min_size=1, max_size=3),
)
label_keys = st.sampled_from(["com.example.a", "com.example.b", "tier"])
labels = st.one_of(
    st.dictionaries(label_keys, st.one_of(string_values, plain_values), min_size=1, max_size=2),
    st.lists(st.builds(lambda key, value: f"{key}={value}", label_keys, st.sampled_from(["x", "1", ""])), min_size=1, max_size=2),
)
# typed fields: mostly values Compose decodes, some it rejects (then mlstack must reject the set too)
def mostly(valid, invalid):
    return st.one_of(valid, valid, valid, valid, invalid)


sizes = st.sampled_from(["16g", "16 gb", "512MiB", "1.5g", "1_000", "-1", "+1k", "1 ", Plain("2048"), 1024])
bad_sizes = st.sampled_from(["16 gigabytes", "1x", "-1g", " 1g", "g", "1kbb"])
durations = st.sampled_from(["1m30s", "1.5h", "500ms", "10us", "10\u00b5s", "1d", "0", "-5s", ".5s", "2d3h"])
bad_durations = st.sampled_from(["10S", "5 s", "1m1", "", "1y", "1e3s"])
cpus = mostly(st.sampled_from([0.5, 2, "1.5", "1e3", "0x1p2", "1_0"]), st.sampled_from(["two", "inf", "3.5e38"]))
gpus = st.one_of(st.just("all"), st.lists(st.one_of(
    st.fixed_dictionaries({"count": mostly(st.sampled_from(["All", 1, "+1", "2"]), st.just(" 1"))},
                          optional={"driver": st.just("nvidia"), "capabilities": st.just(["gpu"])}),
    st.fixed_dictionaries({"device_ids": st.just(["0", "1"])}, optional={"count": st.just(1)}),
), min_size=1, max_size=2))
devices = st.lists(mostly(st.sampled_from(["/dev/fuse", "/dev/sda:/dev/xvda", "/dev/sdb:/dev/xvdb:r", "nvidia.com/gpu=all",
                                           "vendor.com/class=name:/dev/cdi"]),
                          st.sampled_from(["/dev/a:/dev/b:rw:x"])), min_size=1, max_size=3, unique=True)
resources = st.fixed_dictionaries({}, optional={
    "cpus": cpus, "memory": mostly(st.sampled_from(["1G", "512M", "1024m"]), bad_sizes), "pids": st.integers(1, 2)})

command = st.one_of(st.sampled_from(["run --fast", "sleep 1", "echo $$HOME"]),
                    st.lists(st.sampled_from(["python", "-m", "app", "--debug"]), min_size=1, max_size=3))
healthcheck = st.fixed_dictionaries(
    {},
    optional={"test": st.one_of(st.just(["CMD", "true"]), st.just(["CMD-SHELL", "curl -f localhost"]), st.just("exit 0")),
              "interval": st.sampled_from(["5s", "1m"]), "retries": st.integers(1, 5),
              "timeout": st.one_of(durations, bad_durations), "start_period": durations},
)
dns = st.one_of(st.sampled_from(["8.8.8.8", "1.1.1.1"]), st.lists(st.sampled_from(["8.8.8.8", "1.1.1.1", "9.9.9.9"]),
                                                                     min_size=1, max_size=2, unique=True))
host_names = st.sampled_from(["alpha", "beta"])
ips = st.sampled_from(["10.0.0.1", "10.0.0.2", "::1", "[::2]", "host-gateway"])
extra_hosts = st.one_of(
    st.lists(mostly(st.builds(lambda host, ip, sep: f"{host}{sep}{ip}", host_names, ips, st.sampled_from([":", "="])),
                    st.sampled_from(["gamma", ":10.0.0.3"])), min_size=1, max_size=2, unique=True),
    st.dictionaries(host_names, ips, min_size=1, max_size=2),
)
service_networks = st.one_of(
    st.lists(st.sampled_from(NETWORKS), min_size=1, max_size=2, unique=True),
    st.dictionaries(st.sampled_from(NETWORKS),
                    st.one_of(st.none(), st.fixed_dictionaries({"aliases": st.lists(st.sampled_from(["x", "y"]), min_size=1,
                                                                                      max_size=2, unique=True)})),
                    min_size=1, max_size=2),
)
deploy = st.fixed_dictionaries(
    {},
    optional={
        "replicas": st.integers(1, 3),
        "labels": st.dictionaries(label_keys, st.sampled_from(["x", "y"]), min_size=1, max_size=2),
        "resources": st.fixed_dictionaries({}, optional={"limits": resources, "reservations": resources}),
        "restart_policy": st.fixed_dictionaries({}, optional={"delay": mostly(durations, bad_durations),
                                                               "max_attempts": st.integers(-1, 3)}),
    },
)
capabilities = st.lists(st.sampled_from(CAPABILITIES), min_size=1, max_size=3, unique=True)
file_mounts = st.lists(st.one_of(
    st.sampled_from(["alpha", "beta"]),
    st.fixed_dictionaries({"source": st.sampled_from(["alpha", "beta"])},
                          optional={"target": st.sampled_from(["/run/secrets/x", "/etc/y", "alpha"]),
                                    "mode": st.sampled_from([Plain("0400"), 292])}),
), min_size=1, max_size=2)
logging = st.fixed_dictionaries({}, optional={
    "driver": st.sampled_from(["json-file", "local", "syslog"]),
    "options": st.dictionaries(st.sampled_from(["max-size", "tag", "mode"]), st.sampled_from(["10m", "x", "non-blocking"]),
                               min_size=1, max_size=2),
})
ulimits = st.dictionaries(st.sampled_from(["nofile", "nproc"]), st.one_of(
    st.integers(1000, 1002), st.fixed_dictionaries({"soft": st.integers(1, 2), "hard": st.integers(3, 4)})), min_size=1, max_size=2)
build = st.one_of(
    st.sampled_from(["./app", "./other"]),
    st.fixed_dictionaries({}, optional={
        "context": st.sampled_from(["./app", "./other"]), "dockerfile": st.sampled_from(["Dockerfile", "Dockerfile.dev"]),
        "args": environment, "target": st.sampled_from(["dev", "prod"]),
        "tags": st.lists(st.sampled_from(["t:1", "t:2"]), min_size=1, max_size=2, unique=True)}),
)
short_strings = st.lists(st.sampled_from(["/run", "/tmp:size=64m", "/var/cache"]), min_size=1, max_size=2, unique=True)
expose = st.lists(st.one_of(st.sampled_from([80, 443, 9000]), st.sampled_from(["80", "8080/udp", "9000-9001"])),
                  min_size=1, max_size=3)
sysctls = st.one_of(st.dictionaries(st.sampled_from(["net.core.somaxconn", "kernel.shmmax"]), st.sampled_from([1024, "2048"]),
                                    min_size=1, max_size=2),
                    st.lists(st.sampled_from(["net.core.somaxconn=1", "kernel.shmmax=2"]), min_size=1, max_size=2, unique=True))

FIELDS = {
    "ports": ports, "volumes": volumes, "environment": environment, "labels": labels, "command": command,
    "entrypoint": command, "healthcheck": healthcheck, "networks": service_networks, "dns": dns,
    "extra_hosts": extra_hosts, "deploy": deploy, "cap_add": capabilities, "image": st.sampled_from(IMAGES),
    "secrets": file_mounts, "configs": file_mounts, "logging": logging, "ulimits": ulimits, "build": build,
    "tmpfs": st.one_of(st.just("/run"), short_strings), "dns_search": st.one_of(st.just("example.com"), dns),
    "expose": expose, "sysctls": sysctls, "cap_drop": capabilities,
    "shm_size": mostly(sizes, bad_sizes), "mem_limit": mostly(sizes, bad_sizes), "memswap_limit": sizes,
    "mem_reservation": sizes, "stop_grace_period": mostly(durations, bad_durations), "cpus": cpus, "gpus": gpus,
    "devices": devices, "pids_limit": st.integers(1, 2), "scale": st.integers(0, 2),
}
DEEP = ["healthcheck", "deploy", "logging", "ulimits", "build"]
RESETTABLE = ["ports", "volumes", "environment", "labels", "command", "dns", "cap_add", "networks", "depends_on"]


@st.composite
def depends_on(draw, service: str):
    earlier = SERVICES[:SERVICES.index(service)]  # only on earlier services: never a cycle
    if not earlier:
        return None
    chosen = draw(st.lists(st.sampled_from(earlier), min_size=1, max_size=len(earlier), unique=True))
    if draw(st.booleans()):
        return chosen
    return {name: {"condition": draw(st.sampled_from(["service_started", "service_healthy"])),
                   **({"required": draw(st.booleans())} if draw(st.booleans()) else {})} for name in chosen}


@st.composite
def service_fields(draw, service: str, first: bool):
    names = draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=5, unique=True))
    fields = {name: draw(FIELDS[name]) for name in names}
    if draw(st.booleans()):
        dependencies = draw(depends_on(service))
        if dependencies is not None:
            fields["depends_on"] = dependencies
    if first:
        fields.setdefault("image", draw(st.sampled_from(IMAGES)))
        return fields
    tagged = draw(st.sampled_from(["none", "none", "reset", "override", "deep", "deep", "item"]))
    deep = [name for name in DEEP + ["environment", "labels", "extra_hosts"] if isinstance(fields.get(name), dict) and fields[name]]
    listed = [name for name in ("ports", "dns", "cap_add", "command") if isinstance(fields.get(name), list) and fields[name]]
    if tagged == "item" and listed:  # a tagged sequence entry: !reset drops it, !override is plain
        field = draw(st.sampled_from(listed))
        index = draw(st.integers(0, len(fields[field]) - 1))
        fields[field][index] = Tagged(draw(st.sampled_from(["!reset", "!override"])), fields[field][index])
    elif tagged == "deep" and deep:  # a tag one level down: healthcheck.interval, environment.A...
        field = draw(st.sampled_from(deep))
        key = draw(st.sampled_from(sorted(fields[field])))
        fields[field][key] = Tagged("!override", fields[field][key]) if draw(st.booleans()) else Tagged("!reset", None)
    elif tagged == "reset":
        field = draw(st.sampled_from(RESETTABLE))
        fields[field] = Tagged("!reset", None)
    elif tagged == "override" and fields:
        field = draw(st.sampled_from(sorted(field for field in fields if field != "image")) if len(fields) > 1 else st.just(""))
        if field:
            fields[field] = Tagged("!override", fields[field])
    return fields


@st.composite
def file_sets(draw):
    services = draw(st.lists(st.sampled_from(SERVICES), min_size=1, max_size=3, unique=True))
    services.sort(key=SERVICES.index)
    first = {
        "services": {name: draw(service_fields(name, True)) for name in services},
        "volumes": {name: {} for name in NAMED_VOLUMES},
        "networks": {name: {} for name in NETWORKS},
        "secrets": {"alpha": {"environment": "FROM_SHELL"}, "beta": {"file": "./secret.txt"}},
        "configs": {"alpha": {"content": "a"}, "beta": {"file": "./secret.txt"}},
        "x-settings": draw(st.dictionaries(st.sampled_from(["a", "b"]), st.one_of(st.integers(0, 2), st.lists(st.integers(0, 2),
                                                                                                          max_size=2)))),
    }
    files = [first]
    for _ in range(draw(st.integers(1, 2))):
        chosen = draw(st.lists(st.sampled_from(services), min_size=1, max_size=len(services), unique=True))
        files.append({"services": {name: draw(service_fields(name, False)) for name in sorted(chosen, key=SERVICES.index)},
                      "x-settings": draw(st.dictionaries(st.sampled_from(["b", "c"]), st.lists(st.integers(0, 2), max_size=2)))})
    return _only_valid_dependencies(files, services)


def _only_valid_dependencies(files: list[dict], services: list[str]) -> list[dict]:
    """A dependency on a service this set does not define would make Compose reject the whole set."""
    for document in files:
        for fields in document["services"].values():
            value = fields.get("depends_on")
            dependencies = value.value if isinstance(value, Tagged) else value
            if not isinstance(dependencies, (list, dict)):
                continue
            kept = [name for name in dependencies if name in services]
            if not kept:
                del fields["depends_on"]
                continue
            kept_value = kept if isinstance(dependencies, list) else {name: dependencies[name] for name in kept}
            fields["depends_on"] = Tagged(value.tag, kept_value) if isinstance(value, Tagged) else kept_value
    return files


EXAMPLES = int(os.environ.get("MLSTACK_DIFF_EXAMPLES", "150"))


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(files=file_sets())
def test_random_overrides_match_compose(files: list[dict]) -> None:
    with tempfile.TemporaryDirectory(prefix="mlstack-random-") as scratch:
        directory = Path(scratch)
        (directory / "secret.txt").write_text("s3cret\n")
        for index, document in enumerate(files, start=1):
            (directory / f"{index}.yaml").write_text(block(document))
        case = Case(directory, [directory / f"{index}.yaml" for index in range(1, len(files) + 1)],
                    env={"FROM_SHELL": "from-shell"})
        if run_compose(case, case.files).returncode != 0:  # a set Compose rejects: mlstack must reject it too
            with pytest.raises(StackError):
                load_and_check(case)
            return
        typed = [str(diagnostic) for diagnostic in check(load(case).root) if diagnostic.rule == "typed-field"]
        assert not typed, f"Compose decodes what mlstack rejects: {typed}"
        for relocated in (False, True):
            expected, actual, rendered = compare(case, relocated)
            assert expected == actual, explain_mismatch(case, expected, actual, rendered)
