"""Typed fields: the scalars Compose decodes into sizes, durations, numbers, addresses and counts.

Compose merges the files as plain data and decodes the merged model into typed values only at
the end: `shm_size: 16 gigabytes` is an error only if it is what the merge keeps. These checks
therefore run on the merged model, as one rule of validate.py. TYPED_FIELDS, read top to bottom,
pairs a path pattern with its decoder; a decoder returns None for a value Compose accepts, else
what is wrong with it, in the user's words. The render keeps values as they are written: Compose
normalises them (`16g` to 17179869184) when it reads the render, as when it reads the files.

The scalar readers (`go_float`, `port_range` in go_values.py, `ip_problem`, ...) are also what the short-syntax
parsers of canonical.py and the casts of interpolate.py use, so one rule is written once.
"""

from __future__ import annotations

import math
import re
import struct

from mlstack.core.go_values import (INT64_MAX, duration_problem, go_float, go_int, size_in_bytes,
                                    size_problem)
from mlstack.core.model import Node, Path, PatternTable, path_str, pattern
from mlstack.report import Diagnostic

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Callable

    Decoder = Callable[[Node], "str | None"]


# --- node decoders of the Go scalars (core/go_values.py) ----------------------------------------
def byte_size(node: Node) -> str | None:
    return size_problem(node.value) if isinstance(node.value, str) else None


def duration(node: Node) -> str | None:
    return duration_problem(node.value) if isinstance(node.value, str) else None


# --- numbers, counts and limits ------------------------------------------------------------------
def cpus(node: Node) -> str | None:
    """A number of CPUs, written as a number or a numeric string; not infinite, not NaN."""
    value = node.value
    if isinstance(value, str):
        try:
            value = go_float(value)
        except ValueError as error:
            return f"invalid number of CPUs: {error}"
    if isinstance(value, float) and not math.isfinite(value):
        return "invalid number of CPUs: it must be finite"
    return None


def device_count(node: Node) -> str | None:
    if isinstance(node.value, str) and node.value.lower() != "all" and go_int(node.value) is None:
        return f"invalid count {node.value!r}: expected all or a number"
    return None


def exclusive_count_and_ids(node: Node) -> str | None:
    if node.is_map and node.get("count") is not None and node.get("device_ids") is not None:
        return '"count" and "device_ids" cannot both be set: count asks for any devices, device_ids for these ones'
    return None


def _float32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


# (field, its deploy twin, how Compose decodes both); a zero means unset, except for `scale`
_SAME_AS_DEPLOY = [
    ("mem_limit", "deploy.resources.limits.memory", size_in_bytes),
    ("mem_reservation", "deploy.resources.reservations.memory", size_in_bytes),
    ("cpus", "deploy.resources.limits.cpus", lambda value: _float32(go_float(value) if isinstance(value, str) else value)),
    ("pids_limit", "deploy.resources.limits.pids", int),
    ("scale", "deploy.replicas", lambda value: (int(value),)),  # a tuple: set to 0 still counts as set
]


def same_as_deploy(service: Node) -> str | None:
    """`mem_limit` and `deploy.resources.limits.memory` (and the like) both set must agree, once decoded."""
    if not service.is_map:
        return None
    for field, twin, decode in _SAME_AS_DEPLOY:
        legacy, deployed = service.get(field), service.find(tuple(twin.split(".")))
        try:
            values = [decode(node.value) for node in (legacy, deployed) if node is not None and node.value is not None]
        except (TypeError, ValueError, OverflowError):
            continue  # not decodable: reported by the field's own decoder
        if len(values) == 2 and all(values) and values[0] != values[1]:
            return f"{field} ({legacy.value}) and {twin} ({deployed.value}) differ: set only one of them"
    return None


def not_negative(node: Node) -> str | None:
    if isinstance(node.value, int) and not isinstance(node.value, bool) and node.value < 0:
        return f"{node.value} is negative: expected 0 or more"
    return None


def file_mode(node: Node) -> str | None:
    if isinstance(node.value, str):
        return f"expected a number (such as 0o777 or 511), not the string {node.value!r}"
    return not_negative(node)


def octal_mode(node: Node) -> str | None:
    """A secret's or config's `mode` as a string is octal (`"0400"`, `"440"`), as Compose reads it."""
    text = node.value
    if isinstance(text, str) and not (re.fullmatch(r"[+-]?[0-7]+", text) and abs(int(text, 8)) <= INT64_MAX):
        return f"invalid mode {text!r}: expected octal digits, as in \"0440\""
    return None


def healthcheck_test(node: Node) -> str | None:
    first = node.value[0].value if node.is_seq and node.value else "CMD"
    if first not in ("CMD", "CMD-SHELL", "NONE"):
        return f"a healthcheck test list starts with CMD, CMD-SHELL or NONE, not {first!r}"
    return None


def mount(node: Node) -> str | None:
    if not node.is_map:
        return None
    target, kind = node.get("target"), node.get("type")
    if target is None or target.value is None:
        return "a mount needs a target (the path in the container)"
    if kind is not None and kind.value == "bind" and node.get("source") is None:
        return "a bind mount needs a source (the path on the host)"
    return None


def int64(node: Node) -> str | None:
    """A Go int: a YAML integer (a decimal too wide for 64 bits is a float to Go's YAML, and refused)
    or a string strconv.Atoi reads."""
    value = node.value
    if isinstance(value, float):
        return f"expected an integer, got {value:g} (a number this wide is a float)"
    if isinstance(value, str):
        if not re.fullmatch(r"[+-]?[0-9]+", value):
            return f"expected an integer, got {value!r}"
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and not -INT64_MAX - 1 <= value <= INT64_MAX:
        return f"{value} is out of range (at most {INT64_MAX})"
    return None


# --- ports, addresses, hosts and devices ---------------------------------------------------------
def ip_problem(text: str) -> str | None:
    """An IP address as Go's net.ParseIP reads it: IPv4 or IPv6, no zone (`%eth0`)."""
    if _dotted_quad(text):
        return None
    import ipaddress   # not before it is needed: ~1.3 ms of a cold render, where addresses are dotted quads

    try:
        if "%" in text:
            raise ValueError
        ipaddress.ip_address(text)
    except ValueError:
        return f"{text!r} is not an IP address"
    return None


def _dotted_quad(text: str) -> bool:
    """An IPv4 address in the form ipaddress accepts (4 decimal octets, at most 255, no leading zero):
    True only where ipaddress.ip_address would accept it too; anything else is asked of ipaddress."""
    octets = text.split(".")
    return len(octets) == 4 and all(octet.isascii() and octet.isdigit() and len(octet) <= 3 and int(octet) <= 255
                                    and (octet == "0" or octet[0] != "0") for octet in octets)


def host_ip(node: Node) -> str | None:
    if not isinstance(node.value, str):
        return None
    problem = ip_problem(node.value) if node.value else "an empty host_ip is not an address: leave host_ip out"
    return f"invalid host_ip: {problem}" if problem else None


def published(node: Node) -> str | None:
    if isinstance(node.value, float):
        return f"invalid published port {node.value!r}: expected an integer or a string"
    return None


def target_port(node: Node) -> str | None:
    value = node.value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not 0 <= value <= 2**32 - 1:
        return f"invalid target port {value!r}: expected 0-4294967295"
    return None


def extra_host(node: Node) -> str | None:
    """`host:ip` or `host=ip` (the first `=`, else the first `:`); a host with neither is an error."""
    if not node.is_scalar:
        return None
    text = node.text()
    for separator in ("=", ":"):
        host, found, _ = text.partition(separator)
        if found:
            return host_name(host)
    return f"invalid extra host {text!r}: expected HOST:IP or HOST=IP"


def host_name(host: str) -> str | None:
    if not host or ":" in host or "=" in host:
        return f"invalid host name {host!r} in extra_hosts: it must be non-empty, without ':' or '='"
    return None


def host_names(node: Node) -> str | None:
    """The mapping form of extra_hosts: each key a host name (the list form is read entry by entry)."""
    return next(filter(None, (host_name(host) for host in node.value)), None) if node.is_map else None


def device_mapping(node: Node) -> str | None:
    if isinstance(node.value, str) and node.value.count(":") > 2:
        return f"invalid device {node.value!r}: expected HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]] (or use the long syntax)"
    if node.is_map and node.get("target") is None:
        return "a device needs a target (the path in the container)"
    return None


_SIZES = ["shm_size", "mem_limit", "mem_reservation", "memswap_limit", "mem_swappiness", "build.shm_size",
          "deploy.resources.limits.memory", "deploy.resources.reservations.memory", "volumes.[].tmpfs.size",
          *[f"blkio_config.{field}.[].rate" for field in
            ("device_read_bps", "device_write_bps", "device_read_iops", "device_write_iops")]]
_DURATIONS = ["stop_grace_period", "healthcheck.interval", "healthcheck.timeout", "healthcheck.start_period",
              "healthcheck.start_interval", "deploy.restart_policy.delay", "deploy.restart_policy.window",
              *[f"deploy.{config}.{field}" for config in ("update_config", "rollback_config") for field in ("delay", "monitor")]]
_DEVICE_REQUESTS = ["gpus.[]", "deploy.resources.reservations.devices.[]"]

TYPED_FIELDS: list[tuple[tuple[str, ...], Decoder]] = [
    (pattern("services.*"), same_as_deploy),
    *[(pattern(f"services.*.{field}"), byte_size) for field in _SIZES],
    *[(pattern(f"services.*.{field}"), duration) for field in _DURATIONS],
    *[(pattern(f"services.*.{field}"), cpus) for field in
      ("cpus", "deploy.resources.limits.cpus", "deploy.resources.reservations.cpus")],
    *[(pattern(f"services.*.{field}.count"), device_count) for field in _DEVICE_REQUESTS],
    *[(pattern(f"services.*.{field}"), exclusive_count_and_ids) for field in _DEVICE_REQUESTS],
    *[(pattern(f"services.*.{prefix}{field}"), int64) for prefix in ("", "build.")
      for field in ("ulimits.*", "ulimits.*.soft", "ulimits.*.hard")],
    *[(pattern(f"services.*.{field}.[].mode"), octal_mode) for field in ("secrets", "configs", "build.secrets")],
    *[(pattern(f"services.*.{field}"), not_negative) for field in (
        "healthcheck.retries", "deploy.update_config.parallelism", "deploy.rollback_config.parallelism",
        "deploy.restart_policy.max_attempts", "deploy.placement.max_replicas_per_node", "scale", "deploy.replicas",
        "blkio_config.weight", "blkio_config.weight_device.[].weight")],
    (pattern("services.*.volumes.[].tmpfs.mode"), file_mode),
    (pattern("services.*.volumes.[]"), mount),
    (pattern("services.*.healthcheck.test"), healthcheck_test),
    (pattern("services.*.ports.[].host_ip"), host_ip),
    (pattern("services.*.ports.[].published"), published),
    (pattern("services.*.ports.[].target"), target_port),
    *[(pattern(f"services.*.{field}"), host_names) for field in ("extra_hosts", "build.extra_hosts")],
    *[(pattern(f"services.*.{field}.[]"), extra_host) for field in ("extra_hosts", "build.extra_hosts")],
    (pattern("services.*.devices.[]"), device_mapping),
]


_TYPED_FIELDS = PatternTable(TYPED_FIELDS)


def typed_fields(root: Node) -> list[Diagnostic]:
    """Every value of the merged model that Compose would fail to decode, located."""
    found: list[Diagnostic] = []
    services = root.get("services")
    if services is not None and services.is_map:
        _walk(services, ("services",), _TYPED_FIELDS.step(_TYPED_FIELDS.start(), "services"), found)
    return found


def _walk(node: Node, path: Path, branches: tuple, found: list[Diagnostic]) -> None:
    """Down the tree only as far as some pattern of TYPED_FIELDS goes."""
    for decoder in PatternTable.values(branches):
        problem = decoder(node)
        if problem:
            found.append(Diagnostic.at(node.origin, path_str(path), problem, "typed-field"))
    children = node.value.items() if node.is_map else enumerate(node.value) if node.is_seq else ()
    for key, child in children:
        below = PatternTable.step(branches, key)
        if below:
            _walk(child, path + (key,), below, found)
