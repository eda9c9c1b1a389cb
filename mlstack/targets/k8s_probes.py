"""Healthchecks as probes, and `depends_on: service_healthy` as init containers that wait.

A healthcheck becomes readiness and liveness probes, plus a startup probe covering its
start_period. Its test becomes `httpGet` when it only GETs a local URL and fails on an error
status (the patterns in HTTP_PROBES), else `exec`.
"""

from __future__ import annotations

import copy

from mlstack.targets.common import Warnings, dns_name, dollars, ports_of, whole_seconds
from mlstack.patterns import lazy

WAIT_IMAGE = "busybox:1.37"       # the init containers that wait for a dependency (nc, sh)

# Plain HTTP probes: commands that only GET a local URL and fail on an error status -> httpGet.
_URL = r"https?://(?:127\.0\.0\.1|localhost)(?::(?P<port>\d+))?(?P<path>/[^\s'\"]*)?"
HTTP_PROBES = [
    lazy(r"^python3? -c import urllib\.request; urllib\.request\.urlopen\('" + _URL + r"'(?:, timeout=\d+)?\)$"),
    lazy(r"^curl (?:-(?:f|s|S|fs|fsS|sf|sfS|fsSL|fSs|sSf)\s+|--fail\s+|--silent\s+|--show-error\s+)+" + _URL + r"$"),
    lazy(r"^wget (?:-q\s+|--spider\s+|-O\s*-\s+|-qO-\s+|--quiet\s+)+" + _URL + r"$"),
]


def probe_handler(test) -> dict | None:
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    if not test or test[0] == "NONE":
        return None
    argv = list(test[1:]) if test[0] == "CMD" else ["sh", "-c", " ".join(test[1:])]
    line = " ".join(str(part) for part in argv) if test[0] == "CMD" else ""
    for pattern in HTTP_PROBES:
        match = pattern.match(line) if line else None
        if match:
            port = int(match["port"]) if match["port"] else 80
            return {"httpGet": {"path": match["path"] or "/", "port": port}}
    return {"exec": {"command": [dollars(part) for part in argv]}}


def probes(name: str, healthcheck: dict, warnings: Warnings) -> dict:
    """Readiness and liveness from the healthcheck; a startup probe covers its start_period."""
    if not healthcheck or healthcheck.get("disable"):
        return {}
    handler = probe_handler(healthcheck.get("test"))
    if handler is None:
        return {}
    where = ("services", name, "healthcheck")
    period = whole_seconds(healthcheck.get("interval", "30s")) or 30
    timing = {"periodSeconds": period, "timeoutSeconds": whole_seconds(healthcheck.get("timeout", "30s")) or 30,
              "failureThreshold": int(healthcheck.get("retries", 3))}
    found = {"readinessProbe": {**copy.deepcopy(handler), **timing}, "livenessProbe": {**copy.deepcopy(handler), **timing}}
    start = whole_seconds(healthcheck.get("start_period", 0), minimum=0) or 0
    if start:
        found["startupProbe"] = {**copy.deepcopy(handler), "periodSeconds": period, "timeoutSeconds": timing["timeoutSeconds"],
                                 "failureThreshold": -(-start // period) + timing["failureThreshold"]}
    if "start_interval" in healthcheck:
        warnings.add(where + ("start_interval",), "probes keep one period; start_interval dropped")
    return found


def wait_for_dependencies(name: str, service: dict, document: dict, warnings: Warnings) -> list[dict]:
    """`depends_on: service_healthy` -> an init container per dependency, in name order, that waits until the
    dependency's Service answers: a Service routes only to ready pods, so it answers once the readiness
    probe (the dependency's healthcheck) passes."""
    depends = service.get("depends_on") or {}
    depends = {dep: {} for dep in depends} if isinstance(depends, list) else depends
    services = document.get("services") or {}
    init: list[dict] = []
    for dependency, body in sorted(depends.items()):
        condition = (body or {}).get("condition", "service_started")
        where = ("services", name, "depends_on", dependency)
        if condition != "service_healthy":
            warnings.add(where, f"condition {condition}: pods start in any order; only service_healthy becomes an init "
                                "container; dropped")
            continue
        ports = ports_of(services.get(dependency) or {})
        tcp = [port for port, protocol in ports if protocol == "TCP"]
        if not tcp:
            warnings.add(where, f"{dependency} has no TCP port to wait for; dropped")
            continue
        host, port = dns_name(dependency), tcp[0]
        init.append({
            "name": f"wait-for-{host}"[:63],
            "image": WAIT_IMAGE,
            "command": ["sh", "-c", f"until nc -z -w 2 {host} {port}; do echo waiting for {host}:{port}; sleep 2; done"],
        })
    return init
