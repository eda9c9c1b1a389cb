"""The swarm target: a stack file that `docker stack deploy -c FILE STACK` accepts.

Swarm ignores or rejects some Compose keys (docker/cli's stack schema); each one is converted
where Swarm has an equivalent, else dropped with a warning naming the service and the key:

* GPU `devices` reservations (rejected, docker/cli#3051) become a generic resource
  (`NVIDIA-GPU`, advertised by each GPU node's daemon: `node-generic-resources`) plus a
  placement constraint on the node label `gpu == true`;
* `shm_size` (ignored, moby/moby#26714) becomes a tmpfs mount on /dev/shm of the same size;
* `restart` becomes `deploy.restart_policy`; `depends_on` conditions are reported (Swarm starts
  services in any order); `build` needs a pushed image;
* secrets read from an environment variable become external swarm secrets the deploy host
  creates (`docker secret create`); file secrets stay files, read at deploy time.
"""

from __future__ import annotations

import copy
from pathlib import Path as FsPath

from mlstack.core.model import Node
from mlstack.core.render import Header, dump
from mlstack.errors import StackError
from mlstack.report import Diagnostic
from mlstack.targets.common import Conversion, Warnings, bytes_of, gpu_need, non_gpu_devices, secret_sources

GPU_RESOURCE_KIND = "NVIDIA-GPU"
GPU_NODE_CONSTRAINT = "node.labels.gpu == true"

# Service keys docker stack deploy takes as they are.
KEPT = {
    "cap_add", "cap_drop", "command", "configs", "credential_spec", "deploy", "dns", "dns_search", "entrypoint",
    "environment", "expose", "extra_hosts", "healthcheck", "hostname", "image", "init", "isolation", "labels",
    "logging", "networks", "read_only", "secrets", "stop_grace_period", "stop_signal", "sysctls", "stdin_open",
    "tty", "ulimits", "user", "volumes", "working_dir",
}

# Keys Swarm has no equivalent for, and why; each is dropped with this warning.
DROPPED = {
    "container_name": "task containers are named by the service",
    "cgroup_parent": "not supported by docker stack deploy",
    "devices": "services cannot map host devices (docker/cli#3051)",
    "domainname": "not supported by docker stack deploy",
    "external_links": "not supported by docker stack deploy",
    "ipc": "not supported by docker stack deploy",
    "links": "use the service name on the stack's overlay network",
    "mac_address": "not supported by docker stack deploy",
    "network_mode": "services use overlay networks",
    "pid": "not supported by docker stack deploy",
    "post_start": "no lifecycle hooks in swarm; do this in the image's entrypoint",
    "pre_stop": "no lifecycle hooks in swarm; do this in the image's entrypoint",
    "privileged": "services cannot run privileged",
    "profiles": "docker stack deploy starts every service of the file",
    "pull_policy": "each node pulls when it schedules a task",
    "security_opt": "not supported by docker stack deploy",
    "userns_mode": "not supported by docker stack deploy",
    "gpus": "use deploy.resources.reservations.devices (converted to a generic resource)",
    "runtime": "set the runtime in each node's daemon configuration",
    "platform": "use a placement constraint on node.platform.arch",
    "mem_limit": "use deploy.resources.limits.memory",
    "cpus": "use deploy.resources.limits.cpus",
    "develop": "a development-only setting",
}

# Keys converted below (_service).
CONVERTED = {"build", "restart", "depends_on", "shm_size", "ports", "env_file", "tmpfs"}

RESTART_CONDITION = {"always": "any", "unless-stopped": "any", "on-failure": "on-failure", "no": "none"}
TOP_LEVEL_KEPT = ("services", "networks", "volumes", "secrets", "configs")


def convert(rendered, out_dir: FsPath | None = None, output_format: str = "yaml") -> Conversion:
    document = copy.deepcopy(rendered.document(out_dir))
    warnings = Warnings(rendered.root, "swarm")
    provide: list[str] = []
    services = document.get("services") or {}
    for name in sorted(services):
        services[name] = _service(name, services[name], rendered.root.find(("services", name)), warnings, provide)
    _volumes(document, warnings)
    if any(GPU_NODE_CONSTRAINT in str(body.get("deploy")) for body in services.values()):
        provide.append(f"GPU nodes advertising the generic resource {GPU_RESOURCE_KIND} (daemon.json node-generic-resources) "
                       "and labelled gpu=true (docker node update --label-add gpu=true NODE)")
    _secrets(document, rendered.project_name, provide)
    out = {key: document[key] for key in TOP_LEVEL_KEPT if key in document}
    for key in sorted(document):
        if key.startswith("x-"):
            out[key] = document[key]
        elif key not in TOP_LEVEL_KEPT and key != "name":   # the stack name is docker stack deploy's argument
            warnings.add((key,), f"top-level {key!r} is not supported by docker stack deploy; dropped")
    header = Header(rendered.stack.name, rendered.profile.name, list(rendered.header.sources),
                    [*rendered.notes, f"target: swarm (docker stack deploy -c FILE {rendered.project_name})"] + [f"deploy host provides: {line}" for line in provide])
    return Conversion({"stack.yaml": dump(out, header, output_format)}, warnings.found, provide)


def _service(name: str, service: dict, node: Node, warnings: Warnings, provide: list[str]) -> dict:
    where = ("services", name)
    out: dict = {}
    for key in sorted(service):
        if key in KEPT or key.startswith("x-"):
            out[key] = service[key]
        elif key in DROPPED:
            warnings.add(where + (key,), f"{DROPPED[key]}; dropped")
        elif key not in CONVERTED:
            warnings.add(where + (key,), "not supported by docker stack deploy; dropped")
    deploy = out.setdefault("deploy", {})
    if "build" in service:
        image = service.get("image")
        if not image:
            origin = warnings.origin(where + ("build",))
            message = (f"service {name!r} is built from source and has no image: swarm nodes pull images, "
                       f"so set services.{name}.image to a reference in a registry every node can pull from")
            raise StackError(message, [Diagnostic.at(origin, f"services.{name}.build", message, "target-swarm")])
        warnings.add(where + ("build",), f"images are not built on deploy: push {image} to a registry every node can pull from")
        provide.append(f"image {image} in a registry every node can pull from (services.{name}.build)")
    if "restart" in service and "restart_policy" not in deploy:
        deploy["restart_policy"] = {"condition": RESTART_CONDITION.get(str(service["restart"]), "any")}
    if "depends_on" in service:
        conditions = ", ".join(f"{dep} ({(body or {}).get('condition', 'service_started')})"
                               for dep, body in sorted(_depends(service["depends_on"]).items()))
        warnings.add(where + ("depends_on",), f"services start in any order (depends_on is ignored): {conditions}; "
                                              f"{name} must retry until they answer")
    if "shm_size" in service:
        _shared_memory(name, service, out, warnings)
    _gpu(name, node, deploy, warnings)
    if "ports" in out or "ports" in service:
        out["ports"] = _ports(name, service.get("ports") or [], deploy, warnings)
    if "env_file" in service:
        out["env_file"] = [entry.get("path") if isinstance(entry, dict) else entry for entry in service["env_file"]]
    if "tmpfs" in service:
        mounts = [service["tmpfs"]] if isinstance(service["tmpfs"], str) else service["tmpfs"]
        out.setdefault("volumes", []).extend({"type": "tmpfs", "target": mount.split(":")[0]} for mount in mounts)
    for index, volume in enumerate(out.get("volumes") or []):
        if isinstance(volume, dict) and volume.get("type") == "bind":
            warnings.add(where + ("volumes", index), f"bind mount {volume.get('source')} must exist on every node a task can run on")
    if not deploy:
        out.pop("deploy")
    return out


def _depends(value) -> dict:
    return {name: {} for name in value} if isinstance(value, list) else value


def _shared_memory(name: str, service: dict, out: dict, warnings: Warnings) -> None:
    size = bytes_of(service["shm_size"])
    where = ("services", name, "shm_size")
    volumes = out.setdefault("volumes", [])
    if any(isinstance(v, dict) and v.get("target") == "/dev/shm" for v in volumes):
        warnings.add(where, "a volume is already mounted on /dev/shm; shm_size dropped")
    elif size is None:
        warnings.add(where, f"cannot read shm_size {service['shm_size']!r}; dropped")
    else:
        volumes.append({"type": "tmpfs", "target": "/dev/shm", "tmpfs": {"size": size}})


def _gpu(name: str, node: Node, deploy: dict, warnings: Warnings) -> None:
    where = ("services", name, "deploy", "resources", "reservations", "devices")
    reservations = (deploy.get("resources") or {}).get("reservations") or {}
    devices = reservations.pop("devices", None)
    if devices is None:
        return
    need = gpu_need(name, node)
    others = non_gpu_devices(devices)
    if others:
        warnings.add(where, f"cannot reserve non-GPU devices ({len(others)} entries); dropped")
    if need is not None:
        if need.all_gpus:
            warnings.add(where, f"count: all has no swarm equivalent: reserves {need.count} {GPU_RESOURCE_KIND}; "
                                "set count to reserve more")
        if need.ids:
            warnings.add(where, "device_ids: the node assigns advertised GPUs itself; ids dropped")
        reservations.setdefault("generic_resources", []).append(
            {"discrete_resource_spec": {"kind": GPU_RESOURCE_KIND, "value": need.count}})
        constraints = deploy.setdefault("placement", {}).setdefault("constraints", [])
        if GPU_NODE_CONSTRAINT not in constraints:
            constraints.append(GPU_NODE_CONSTRAINT)
    if not reservations:
        deploy["resources"].pop("reservations")


def _ports(name: str, ports: list, deploy: dict, warnings: Warnings) -> list:
    dnsrr = deploy.get("endpoint_mode") == "dnsrr"
    out = []
    for index, port in enumerate(ports):
        where = ("services", name, "ports", index)
        port = dict(port)
        if port.pop("host_ip", None):
            warnings.add(where, "published on every node's interfaces; host_ip dropped (firewall the port instead)")
        published = str(port.get("published", ""))
        if "-" in published:
            first = published.split("-")[0]
            warnings.add(where, f"published range {published}: the routing mesh serves every replica on one port; published {first}")
            published = first
        if published:
            port["published"] = int(published)
        for key in ("name", "app_protocol"):
            port.pop(key, None)
        if dnsrr and port.get("mode", "ingress") == "ingress" and published:
            warnings.add(where, "endpoint_mode dnsrr cannot publish through the routing mesh; published in host mode")
            port["mode"] = "host"
        out.append(port)
    return out


def _volumes(document: dict, warnings: Warnings) -> None:
    for volume, body in sorted((document.get("volumes") or {}).items()):
        if not (body or {}).get("external") and not (body or {}).get("driver"):
            warnings.add(("volumes", volume), "a local volume lives on one node: a task moved to another node starts "
                                              "with it empty (pin the service with a placement constraint or use a volume driver)")


def _secrets(document: dict, project: str, provide: list[str]) -> None:
    """Environment secrets become external swarm secrets the deploy host creates before deploying."""
    for source in secret_sources(document):
        if source.variable:
            swarm_name = f"{project}_{source.name}"
            document["secrets"][source.name] = {"external": True, "name": swarm_name}
            provide.append(f"secret {source.name}: printf %s \"${source.variable}\" | docker secret create {swarm_name} -")
        elif source.file:
            provide.append(f"secret {source.name}: file {source.file} on the deploy host")
