"""One Compose service as a Kubernetes pod template: container, resources, security, volumes.

The service keys, top to bottom, are a table (POD_RULES): each key is converted by its rule or
reported by DROPPED with the reason; a key in neither is reported as unknown. Values of
`command`, `args` and `env` have `$` doubled, because Kubernetes expands `$(VAR)` there.
"""

from __future__ import annotations

import re
import shlex
from mlstack.records import field, record

from mlstack.core.model import Node
from mlstack.targets.common import (Warnings, bytes_of, dns_name, dollars, gpu_need, non_gpu_devices, ports_of,
                                    service_secret_targets, whole_seconds)
from mlstack.targets.k8s_probes import probes, wait_for_dependencies

GPU_RESOURCE = "nvidia.com/gpu"
PULL_POLICY = {"always": "Always", "missing": "IfNotPresent", "if_not_present": "IfNotPresent", "never": "Never"}

# Service keys with no Kubernetes equivalent in a pod template, and why.
DROPPED = {
    "logging": "the cluster's log collection replaces Docker logging drivers",
    "container_name": "pods are named by their workload",
    "networks": "all pods share the cluster network; use NetworkPolicies to isolate",
    "network_mode": "all pods share the cluster network",
    "links": "use the Service name",
    "external_links": "use the Service name",
    "devices": "host devices need a device plugin",
    "ulimits": "set limits in the node's container runtime",
    "sysctls": "pod sysctls need the cluster's allow-list; set securityContext.sysctls in a patch",
    "security_opt": "use securityContext in a kustomize patch",
    "cgroup_parent": "not expressible",
    "ipc": "not expressible per container",
    "pid": "use shareProcessNamespace in a patch",
    "userns_mode": "not expressible",
    "stop_signal": "Kubernetes sends SIGTERM; handle it in the image",
    "dns": "pods use the cluster DNS",
    "dns_search": "pods use the cluster DNS",
    "domainname": "not expressible",
    "mac_address": "not expressible",
    "init": "add an init process (tini) to the image",
    "profiles": "every service of the profile is deployed",
    "configs": "create a ConfigMap and mount it in a patch",
    "env_file": "the file is read on the render machine: create a ConfigMap or Secret from it and add envFrom in a patch",
    "platform": "use a nodeSelector on kubernetes.io/arch",
    "gpus": "use deploy.resources.reservations.devices",
    "runtime": "set a RuntimeClass in a patch",
    "develop": "a development-only setting",
    "pre_stop": "add lifecycle.preStop in a kustomize patch",
}

# Keys converted by this module (pod_template) or by k8s.py (ports, volumes, deploy, build, image...).
CONVERTED = {
    "image", "build", "pull_policy", "command", "entrypoint", "environment", "working_dir", "user", "tty",
    "stdin_open", "read_only", "privileged", "cap_add", "cap_drop", "healthcheck", "volumes", "tmpfs", "shm_size",
    "secrets", "expose", "ports", "deploy", "depends_on", "restart", "stop_grace_period", "labels", "hostname",
    "extra_hosts", "post_start",
}


@record
class Pod:
    template: dict
    claim_templates: list[str] = field(default_factory=list)   # state volumes owned by a StatefulSet
    claims: list[str] = field(default_factory=list)            # shared volumes (PersistentVolumeClaims)


def quantity_memory(value) -> str | None:
    size = bytes_of(value)
    if size is None:
        return None
    for unit, factor in (("Gi", 1024 ** 3), ("Mi", 1024 ** 2), ("Ki", 1024)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def quantity_cpu(value) -> str | None:
    try:
        millis = round(float(value) * 1000)
    except (TypeError, ValueError):
        return None
    return f"{millis // 1000}" if millis % 1000 == 0 else f"{millis}m"


def _numeric_user(user: str) -> tuple[int | None, int | None]:
    uid, _, gid = str(user).partition(":")
    return (int(uid) if uid.isdigit() else None, int(gid) if gid.isdigit() else None)


def pod_template(name: str, service: dict, node: Node, document: dict, labels: dict, warnings: Warnings,
                 state_volumes: set[str]) -> Pod:
    where = ("services", name)
    for key in sorted(service):
        if key in DROPPED and not (key == "networks" and set(_networks(service)) <= {"default"}):
            warnings.add(where + (key,), f"{DROPPED[key]}; dropped")
        elif key not in DROPPED and key not in CONVERTED and not key.startswith("x-"):
            warnings.add(where + (key,), "no Kubernetes equivalent known to mlstack; dropped")
    ports = ports_of(service)
    container: dict = {"name": dns_name(name), "image": service.get("image")}
    if service.get("pull_policy") in PULL_POLICY:
        container["imagePullPolicy"] = PULL_POLICY[service["pull_policy"]]
    elif "pull_policy" in service and "build" not in service:
        warnings.add(where + ("pull_policy",), f"pull_policy {service['pull_policy']} has no Kubernetes equivalent; dropped")
    for compose_key, k8s_key in (("entrypoint", "command"), ("command", "args")):
        value = service.get(compose_key)
        if value is not None:
            argv = shlex.split(value) if isinstance(value, str) else value
            container[k8s_key] = [dollars(part) for part in argv]
    environment = service.get("environment") or {}
    if environment:
        container["env"] = [{"name": key, "value": dollars("" if value is None else value)}
                            for key, value in sorted(environment.items())]
    if ports:
        container["ports"] = [{"containerPort": port, "protocol": protocol} for port, protocol in ports]
    for compose_key, k8s_key in (("working_dir", "workingDir"), ("tty", "tty"), ("stdin_open", "stdin")):
        if compose_key in service:
            container[k8s_key] = service[compose_key]
    container.update(probes(name, service.get("healthcheck") or {}, warnings))
    resources = _resources(name, service, node, warnings)
    if resources:
        container["resources"] = resources
    pod: dict = {}
    security = _security(name, service, pod, warnings)
    if security:
        container["securityContext"] = security
    volumes, mounts, pod_claims = _volumes(name, service, document, warnings, state_volumes)
    if mounts:
        container["volumeMounts"] = mounts
    lifecycle = _post_start(name, service, warnings)
    if lifecycle:
        container["lifecycle"] = lifecycle
    init = wait_for_dependencies(name, service, document, warnings)
    if init:
        pod["initContainers"] = init
    pod["containers"] = [container]
    if volumes:
        pod["volumes"] = volumes
    grace = whole_seconds(service["stop_grace_period"], minimum=0) if "stop_grace_period" in service else None
    if grace is not None:
        pod["terminationGracePeriodSeconds"] = grace
    if service.get("hostname"):
        pod["hostname"] = dns_name(str(service["hostname"]))
    aliases = _host_aliases(name, service.get("extra_hosts"), warnings)
    if aliases:
        pod["hostAliases"] = aliases
    metadata: dict = {"labels": dict(labels)}
    if service.get("labels"):
        metadata["annotations"] = {str(k): str(v) for k, v in sorted(_as_map(service["labels"]).items())}
    claim_templates = [claim for claim, kind in pod_claims if kind == "template"]
    claims = [claim for claim, kind in pod_claims if kind == "claim"]
    return Pod({"metadata": metadata, "spec": pod}, claim_templates, claims)


def _as_map(value) -> dict:
    if isinstance(value, dict):
        return value
    return dict(str(item).partition("=")[::2] for item in value)


def _networks(service: dict) -> list:
    networks = service.get("networks") or {}
    return list(networks) if isinstance(networks, (dict, list)) else []


def _resources(name: str, service: dict, node: Node, warnings: Warnings) -> dict:
    where = ("services", name, "deploy", "resources")
    resources = (service.get("deploy") or {}).get("resources") or {}
    found: dict = {}
    for compose_key, k8s_key in (("limits", "limits"), ("reservations", "requests")):
        section = resources.get(compose_key) or {}
        for key, value in section.items():
            if key == "cpus":
                converted = quantity_cpu(value)
            elif key == "memory":
                converted = quantity_memory(value)
            elif key == "devices" and compose_key == "reservations":
                continue
            else:
                warnings.add(where + (compose_key, key), f"resources.{compose_key}.{key} has no Kubernetes equivalent; dropped")
                continue
            if converted is None:
                warnings.add(where + (compose_key, key), f"cannot read {value!r}; dropped")
            else:
                found.setdefault(k8s_key, {})["cpu" if key == "cpus" else "memory"] = converted
    need = gpu_need(name, node)
    others = non_gpu_devices((resources.get("reservations") or {}).get("devices") or [])
    if others:
        warnings.add(where + ("reservations", "devices"), f"only GPU reservations map to Kubernetes (nvidia.com/gpu); "
                                                          f"{len(others)} other device reservation(s) dropped")
    if need is not None:
        if need.all_gpus:
            warnings.add(where + ("reservations", "devices"), f"count: all has no Kubernetes equivalent: limits {GPU_RESOURCE} "
                                                              f"to {need.count}; set count to ask for more")
        if need.ids:
            warnings.add(where + ("reservations", "devices"), "device_ids: the device plugin picks the GPUs; ids dropped")
        found.setdefault("limits", {})[GPU_RESOURCE] = need.count
    return found


def _security(name: str, service: dict, pod: dict, warnings: Warnings) -> dict:
    security: dict = {}
    if service.get("user") not in (None, ""):
        uid, gid = _numeric_user(service["user"])
        if uid is None:
            warnings.add(("services", name, "user"), f"user {service['user']!r} is a name; Kubernetes needs a numeric uid; dropped")
        else:
            security["runAsUser"] = uid
            if gid is not None:
                security["runAsGroup"] = gid
                pod["securityContext"] = {"fsGroup": gid}   # named volumes become writable by the group
    if service.get("read_only"):
        security["readOnlyRootFilesystem"] = True
    if service.get("privileged"):
        security["privileged"] = True
    capabilities = {k8s: list(service[compose]) for compose, k8s in (("cap_add", "add"), ("cap_drop", "drop")) if service.get(compose)}
    if capabilities:
        security["capabilities"] = capabilities
    return security


def _volumes(name: str, service: dict, document: dict, warnings: Warnings, state_volumes: set[str]):
    volumes: list[dict] = []
    mounts: list[dict] = []
    claims: list[tuple[str, str]] = []
    for index, entry in enumerate(service.get("volumes") or []):
        where = ("services", name, "volumes", index)
        if not isinstance(entry, dict):
            warnings.add(where, f"cannot read volume {entry!r}; dropped")
            continue
        kind, target = entry.get("type"), entry.get("target")
        read_only = {"readOnly": True} if entry.get("read_only") else {}
        if kind == "volume" and entry.get("source"):
            claim = dns_name(entry["source"])
            if entry["source"] in state_volumes:
                claims.append((claim, "template"))
            else:
                claims.append((claim, "claim"))
                volumes.append({"name": claim, "persistentVolumeClaim": {"claimName": claim}})
            mounts.append({"name": claim, "mountPath": target, **read_only})
            if (entry.get("volume") or {}).get("subpath"):
                mounts[-1]["subPath"] = entry["volume"]["subpath"]
        elif kind == "tmpfs" or (kind == "volume" and not entry.get("source")):
            volume_name = f"tmp-{index}"
            size = (entry.get("tmpfs") or {}).get("size")
            empty: dict = {"medium": "Memory"} if kind == "tmpfs" else {}
            if size is not None:
                empty["sizeLimit"] = quantity_memory(size)
            volumes.append({"name": volume_name, "emptyDir": empty})
            mounts.append({"name": volume_name, "mountPath": target})
        else:
            warnings.add(where, f"{kind} mount {entry.get('source')} -> {target}: pods cannot mount paths of the render "
                                "machine; use a volume or a ConfigMap; dropped")
    for index, path in enumerate([service["tmpfs"]] if isinstance(service.get("tmpfs"), str) else service.get("tmpfs") or []):
        volumes.append({"name": f"tmpfs-{index}", "emptyDir": {"medium": "Memory"}})
        mounts.append({"name": f"tmpfs-{index}", "mountPath": str(path).split(":")[0]})
    if "shm_size" in service:
        size = quantity_memory(service["shm_size"])
        if size is None:
            warnings.add(("services", name, "shm_size"), f"cannot read shm_size {service['shm_size']!r}; dropped")
        else:
            volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": size}})
            mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
    for entry in service.get("secrets") or []:
        secret, target = service_secret_targets(entry)
        volume_name = f"secret-{dns_name(secret)}"
        path = target if target.startswith("/") else f"/run/secrets/{target}"
        item = {"key": secret, "path": secret}
        mode = entry.get("mode") if isinstance(entry, dict) else None
        if mode is not None:
            item["mode"] = int(str(mode), 8) if isinstance(mode, str) else mode
        volumes.append({"name": volume_name, "secret": {"secretName": dns_name(secret), "items": [item]}})
        mounts.append({"name": volume_name, "mountPath": path, "subPath": secret, "readOnly": True})
    return volumes, mounts, claims


def _post_start(name: str, service: dict, warnings: Warnings) -> dict:
    hooks = service.get("post_start") or []
    if not hooks:
        return {}
    where = ("services", name, "post_start")
    user = str(service.get("user") or "")
    usable = [hook for hook in hooks if str(hook.get("user") or user) == user and not hook.get("privileged")]
    for index, hook in enumerate(hooks):
        if hook not in usable:
            warnings.add(where + (index,), f"runs as {hook.get('user') or 'root'!r}; Kubernetes runs hooks as the container's "
                                           "user (named volumes get the pod's fsGroup instead); dropped")
    if len(usable) > 1:
        warnings.add(where, "Kubernetes runs one postStart hook; only the first is kept")
    if not usable:
        return {}
    command = usable[0]["command"]
    argv = shlex.split(command) if isinstance(command, str) else command
    return {"postStart": {"exec": {"command": [dollars(part) for part in argv]}}}


def _host_aliases(name: str, extra_hosts, warnings: Warnings) -> list[dict]:
    if not extra_hosts:
        return []
    pairs = extra_hosts.items() if isinstance(extra_hosts, dict) else (re.split(r"[:=]", str(h), 1) for h in extra_hosts)
    by_ip: dict[str, list[str]] = {}
    for host, address in pairs:
        addresses = address if isinstance(address, list) else [address]
        for ip in addresses:
            if ip == "host-gateway":
                warnings.add(("services", name, "extra_hosts"), f"{host}: host-gateway has no pod equivalent; dropped")
            else:
                by_ip.setdefault(str(ip), []).append(str(host))
    return [{"ip": ip, "hostnames": sorted(hosts)} for ip, hosts in sorted(by_ip.items())]
