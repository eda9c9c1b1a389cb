"""Compose's service profiles: which services a project runs, as Compose decides it.

A service without `profiles` always runs; one with `profiles` runs when one of them is enabled
(`--profile NAME`, or `COMPOSE_PROFILES=a,b`; `*` enables them all). Compose drops the other
services before it checks the project, so its checks (a dependency, an image, an env file) see
only the services that run.
"""

from __future__ import annotations

from mlstack.core.model import Node

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Collection, Mapping

EVERY_PROFILE = "*"


def enabled_profiles(env: Mapping[str, str]) -> tuple[str, ...]:
    """`COMPOSE_PROFILES`, as Compose splits it: by commas, blanks dropped."""
    return tuple(name.strip() for name in env.get("COMPOSE_PROFILES", "").split(",") if name.strip())


def profiles_of(service: Node) -> list[str]:
    profiles = service.get("profiles") if service.is_map else None
    if profiles is None or not profiles.is_seq:
        return []
    return [entry.text() for entry in profiles.value]


def is_active(service: Node, enabled: Collection[str]) -> bool:
    profiles = profiles_of(service)
    return not profiles or EVERY_PROFILE in enabled or any(name in enabled for name in profiles)


def active_services(root: Node, enabled: Collection[str]) -> set[str]:
    services = root.get("services")
    if services is None or not services.is_map:
        return set()
    return {name for name, service in services.value.items() if service.is_map and is_active(service, enabled)}


def may_run_together(first: Node, second: Node, enabled: Collection[str]) -> bool:
    """Whether two services can run at once. With profiles enabled, the active ones do; without,
    a profiled service may still be enabled later, except alongside one of disjoint profiles
    (the `cpu`/`cuda` variants of one service)."""
    if enabled:
        return is_active(first, enabled) and is_active(second, enabled)
    one, other = profiles_of(first), profiles_of(second)
    return not one or not other or bool(set(one) & set(other))
