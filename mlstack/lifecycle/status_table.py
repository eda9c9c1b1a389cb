"""The status table `up` ends with and `status` shows: service, state, health, published ports,
URL; and the seeded volumes.

Ports are what the engine ACTUALLY bound (`compose ps` Publishers, or inspect data while `up`
waits), so remapped ports (MLFLOW_PORT=5001, --port-offset) and the ports the engine chose for
ephemeral ones show as they are. A URL comes from the merged `x-mlstack.urls` rows (service,
container port, path, label, query) and that container port's binding.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from mlstack.core.interpolate import InterpolationError, substitute
from mlstack.core.ports import Binding, distinct, shown_ports
from mlstack.lifecycle.health import Container, by_service

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any, Mapping

LOOPBACK_OR_ANY = ("127.0.0.1", "0.0.0.0", "::", "::1", "localhost")


def url_rows(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    meta = document.get("x-mlstack") or {}
    return [row for row in meta.get("urls") or [] if isinstance(row, dict) and row.get("service")]


def host_url(bindings: tuple[Binding, ...], row: Mapping[str, Any], env: Mapping[str, str]) -> str | None:
    """`http://localhost:5001/path?query` for the row's container port, or None when it is not published."""
    for binding in bindings:
        if binding.target == int(row.get("port") or 0) and binding.protocol == "tcp":
            address = binding.host_ip
            host = "localhost" if address in LOOPBACK_OR_ANY else (f"[{address}]" if ":" in address else address)
            url = f"http://{host}:{binding.published}{row.get('path') or '/'}"
            query = _query(str(row.get("query") or ""), env)
            return f"{url}?{query}" if query else url
    return None


def _query(text: str, env: Mapping[str, str]) -> str:
    """Interpolate the variables left in a query (written `$${VAR}` so that the rendered file keeps
    them, e.g. a token), as Compose would; drop parameters left empty, and the whole query when it
    cannot be interpolated (a required variable is unset)."""
    try:
        text = substitute(text.replace("$$", "$"), env)
    except InterpolationError:
        return ""
    return urlencode([(key, value) for key, value in parse_qsl(text, keep_blank_values=True) if value])


def table(document: Mapping[str, Any], containers: list[Container], services: list[str],
          env: Mapping[str, str]) -> list[dict[str, Any]]:
    """One row per service (and per extra URL of a service): what `status` shows and `--json` prints.
    Each row carries the service's published ports, from every replica."""
    states = by_service(containers, services)
    rows_by_service: dict[str, list[dict]] = {}
    for row in url_rows(document):
        rows_by_service.setdefault(row["service"], []).append(row)
    result = []
    for service in services:
        outcome, text, container = states[service]
        mine = [c for c in containers if c.service == service]
        ports = distinct(port for c in mine for port in c.ports)
        for row in rows_by_service.get(service) or [{}]:
            result.append({
                "service": service,
                "state": container.state if mine else "not created",
                "health": container.health or ("-" if container.state != "running" else "no healthcheck"),
                "verdict": outcome,
                "detail": text,
                "ports": [port.as_json() for port in ports],
                "label": row.get("label", ""),
                "url": host_url(ports, row, env) if row else None,
            })
    return result


def format_table(rows: list[dict[str, Any]]) -> str:
    headers = ("SERVICE", "STATE", "HEALTH", "PORTS", "URL")
    # a service with several URLs has a line for each; its ports (often a long list) show on the first
    cells = [(r["service"], r["state"], r["health"],
              "" if index and rows[index - 1]["service"] == r["service"] else ports_cell(r["ports"]),
              r["url"] or ("(not published)" if r["label"] else "")) for index, r in enumerate(rows)]
    widths = [max(len(str(line[i])) for line in [headers, *cells]) for i in range(len(headers) - 1)]
    lines = []
    for line in [headers, *cells]:
        lines.append("  ".join(str(value).ljust(width) for value, width in zip(line, widths)) + "  " + str(line[-1]))
    return "\n".join(line.rstrip() for line in lines)


def ports_cell(ports: list[dict[str, Any]]) -> str:
    """A row's `ports` (JSON) as `docker ps` writes them, comma-separated."""
    return ", ".join(shown_ports(Binding(p["host_ip"], p["published"], p["target"], p["protocol"]) for p in ports))


def format_volumes(rows: list[dict[str, Any]]) -> str:
    """The seeded volumes under the services: source, size, when seeded, up to date or not."""
    if not rows:
        return ""
    headers = ("VOLUME", "SOURCE", "SIZE", "SEEDED", "STATE")
    table = [headers] + [(r["volume"], r["source"], r["size"], r["seeded_at"], r["state"]) for r in rows]
    widths = [max(len(str(line[i])) for line in table) for i in range(len(headers) - 1)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)) + "  " + str(line[-1])
             for line in table]
    return "\n".join(line.rstrip() for line in lines)
