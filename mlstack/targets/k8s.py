"""The k8s target: one manifest per object and a `kustomization.yaml`, for `kubectl apply -k DIR`.

| Compose                                   | Kubernetes                                                        |
|-------------------------------------------|-------------------------------------------------------------------|
| a service                                 | a Deployment; a StatefulSet when it mounts a state volume          |
|                                           | (`x-mlstack.state` in its fragment), with a volumeClaimTemplate    |
| its ports and `expose`                    | a ClusterIP Service of the same name (names still resolve)         |
| a named volume                            | a PersistentVolumeClaim (ReadWriteMany for `x-mlstack.caches`       |
|                                           | entries with `access_mode: ReadWriteMany`)                         |
| a secret                                  | a Secret referenced by name, mounted at /run/secrets/NAME; never   |
|                                           | written: the deploy host creates it                                |
| GPU reservation                           | `nvidia.com/gpu` limit                                             |
| `shm_size`                                | an `emptyDir` (`medium: Memory`, `sizeLimit`) on /dev/shm           |
| healthcheck                               | readiness, liveness (and startup for start_period) probes          |
| `depends_on: service_healthy`             | an init container waiting for the dependency's Service             |
| `volumes.NAME.seed.image` (mlstack.yaml)   | a Job copying the image's files into the claim                     |
"""

from __future__ import annotations

import copy
from pathlib import Path as FsPath

from mlstack.core.render import Header, dump
from mlstack.errors import StackError
from mlstack.report import Diagnostic
from mlstack.targets.common import Conversion, Warnings, dns_name, ports_of, secret_sources
from mlstack.targets.k8s_pod import pod_template

KUBERNETES_VERSION = "1.33.0"     # the API versions below are those of this release (docs/deploy.md)
STATE_SIZE = "10Gi"
CLAIM_SIZE = "10Gi"
CACHE_SIZE = "50Gi"

# deploy.* keys: replicas and resources become the workload's; the rest has no equivalent.
DEPLOY_DROPPED = {
    "mode": "use a DaemonSet (mode: global) in a kustomize patch",
    "placement": "use a nodeSelector or affinity in a kustomize patch",
    "restart_policy": "pods in a Deployment or StatefulSet always restart",
    "update_config": "use the workload's strategy in a kustomize patch",
    "rollback_config": "use kubectl rollout undo",
    "endpoint_mode": "Services do DNS and load balancing",
    "labels": "added as the workload's annotations",
}


def convert(rendered, out_dir: FsPath | None = None, output_format: str = "yaml") -> Conversion:
    document = copy.deepcopy(rendered.root.to_data())    # not escaped for Compose: `$` is doubled per field
    warnings = Warnings(rendered.root, "k8s")
    meta = document.get("x-mlstack") or {}
    state = set(meta.get("state") or [])
    caches = meta.get("caches") or {}
    project, stack = rendered.project_name, rendered.stack.name
    objects: list[dict] = []
    claims: dict[str, str] = {}      # volume claim -> access mode
    services = document.get("services") or {}
    for name in sorted(services):
        service = services[name]
        _check_image(name, service, warnings)
        labels = {"app.kubernetes.io/name": dns_name(name), "app.kubernetes.io/instance": dns_name(project),
                  "app.kubernetes.io/part-of": dns_name(stack), "app.kubernetes.io/managed-by": "mlstack"}
        pod = pod_template(name, service, rendered.root.find(("services", name)), document, labels, warnings, state)
        objects.append(_workload(name, service, pod, labels, warnings))
        ports = ports_of(service)
        if ports:
            objects.append(_service(name, service, ports, labels, warnings))
        for claim in pod.claims:
            volume = _volume_for(claim, document)
            claims[claim] = str((caches.get(volume) or {}).get("access_mode") or "ReadWriteOnce")
    for claim, access in sorted(claims.items()):
        size = CACHE_SIZE if access == "ReadWriteMany" else CLAIM_SIZE
        objects.append(_object("v1", "PersistentVolumeClaim", claim, {"app.kubernetes.io/part-of": dns_name(stack)},
                               {"accessModes": [access], "resources": {"requests": {"storage": size}}}))
    _volume_warnings(document, warnings)
    objects += seed_jobs(rendered, document, claims, warnings)
    provide = _secrets(document) + _images(document)
    if any(claims[c] == "ReadWriteMany" for c in claims):
        provide.append("a default StorageClass that provisions ReadWriteMany volumes (shared caches: "
                       + ", ".join(c for c in sorted(claims) if claims[c] == "ReadWriteMany") + ")")
    if any("nvidia.com/gpu" in str(o) for o in objects):
        provide.append("the NVIDIA device plugin (GPU nodes advertise nvidia.com/gpu)")
    files = {}
    notes = [*rendered.notes, f"target: k8s (Kubernetes {KUBERNETES_VERSION} API; kubectl apply -k DIR)"]
    for item in objects:
        file_name = f"{item['kind'].lower()}-{item['metadata']['name']}.yaml"
        files[file_name] = dump(item, Header(stack, rendered.profile.name, list(rendered.header.sources), notes))
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     "resources": sorted(files)}
    files["kustomization.yaml"] = dump(kustomization, Header(stack, rendered.profile.name, list(rendered.header.sources),
                                                             notes + [f"deploy host provides: {line}" for line in provide]))
    return Conversion(dict(sorted(files.items())), warnings.found, provide, single_file=False)


def _object(api_version: str, kind: str, name: str, labels: dict, spec: dict) -> dict:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "labels": dict(labels)}, "spec": spec}


def _check_image(name: str, service: dict, warnings: Warnings) -> None:
    where = ("services", name)
    if not service.get("image"):
        origin = warnings.origin(where + ("build",))
        message = (f"service {name!r} has no image: Kubernetes nodes pull images, so set services.{name}.image "
                   "to a reference in a registry the cluster can pull from")
        raise StackError(message, [Diagnostic.at(origin, f"services.{name}", message, "target-k8s")])
    if "build" in service:
        warnings.add(where + ("build",), f"Kubernetes does not build images: push {service['image']} to a registry the "
                                         "cluster can pull from")


def _workload(name: str, service: dict, pod, labels: dict, warnings: Warnings) -> dict:
    where = ("services", name)
    deploy = service.get("deploy") or {}
    for key in sorted(deploy):
        if key in DEPLOY_DROPPED:
            warnings.add(where + ("deploy", key), f"{DEPLOY_DROPPED[key]}" + ("" if key == "labels" else "; dropped"))
        elif key not in ("replicas", "resources"):
            warnings.add(where + ("deploy", key), "no Kubernetes equivalent known to mlstack; dropped")
    restart = str(service.get("restart", "always"))
    if restart in ("no", "on-failure") or restart.startswith("on-failure:"):
        warnings.add(where + ("restart",), f"restart: {restart}: pods of a Deployment or StatefulSet always restart")
    selector = {key: labels[key] for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance")}
    spec: dict = {"replicas": int(deploy.get("replicas", 1)), "selector": {"matchLabels": selector}, "template": pod.template}
    if pod.claim_templates:
        kind = "StatefulSet"
        spec["serviceName"] = dns_name(name)
        spec["volumeClaimTemplates"] = [
            {"metadata": {"name": claim}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": STATE_SIZE}}}}
            for claim in pod.claim_templates]
    else:
        kind = "Deployment"
        if pod.claims and spec["replicas"] == 1:
            spec["strategy"] = {"type": "Recreate"}   # a ReadWriteOnce claim cannot be mounted by old and new pod at once
    workload = _object("apps/v1", kind, dns_name(name), labels, spec)
    if isinstance(deploy.get("labels"), (dict, list)):
        workload["metadata"]["annotations"] = {str(k): str(v) for k, v in sorted(_as_map(deploy["labels"]).items())}
    return workload


def _as_map(value) -> dict:
    return value if isinstance(value, dict) else dict(str(item).partition("=")[::2] for item in value)


def _service(name: str, service: dict, ports, labels: dict, warnings: Warnings) -> dict:
    for index, entry in enumerate(service.get("ports") or []):
        if isinstance(entry, dict) and entry.get("published"):
            warnings.add(("services", name, "ports", index),
                         f"published port {entry['published']}: the Service is ClusterIP (reachable in the cluster by name); "
                         "expose it with an Ingress, a LoadBalancer Service or kubectl port-forward")
    selector = {key: labels[key] for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance")}
    spec = {"selector": selector, "ports": [{"name": f"{protocol.lower()}-{port}", "port": port, "targetPort": port,
                                             "protocol": protocol} for port, protocol in ports]}
    return _object("v1", "Service", dns_name(name), labels, spec)


def _volume_for(claim: str, document: dict) -> str:
    return next((volume for volume in document.get("volumes") or {} if dns_name(volume) == claim), claim)


def _volume_warnings(document: dict, warnings: Warnings) -> None:
    for volume, body in sorted((document.get("volumes") or {}).items()):
        for key in sorted(body or {}):
            if key in ("driver", "driver_opts", "external", "name", "labels"):
                warnings.add(("volumes", volume, key), f"volume {key} has no PersistentVolumeClaim equivalent "
                                                       "(use a StorageClass); dropped")


def _secrets(document: dict) -> list[str]:
    lines = []
    for source in secret_sources(document):
        secret = dns_name(source.name)
        if source.variable:
            lines.append(f"secret {source.name}: printf %s \"${source.variable}\" | kubectl create secret generic {secret} "
                         f"--from-file={source.name}=/dev/stdin")
        elif source.file:
            lines.append(f"secret {source.name}: kubectl create secret generic {secret} --from-file={source.name}={source.file}")
        else:
            lines.append(f"secret {source.name}: a Secret {secret} with the key {source.name}")
    return lines


def _images(document: dict) -> list[str]:
    return [f"image {body['image']} in a registry the cluster can pull from (services.{name}.build)"
            for name, body in sorted((document.get("services") or {}).items()) if "build" in body and body.get("image")]


def seed_jobs(rendered, document: dict, claims: dict[str, str], warnings: Warnings) -> list[dict]:
    """`volumes.NAME.seed` with an image source -> a Job that copies its files into the claim, once."""
    jobs = []
    caches = (document.get("x-mlstack") or {}).get("caches") or {}
    for volume, settings in sorted((rendered.stack.volumes or {}).items()):
        seed = (settings or {}).get("seed")
        if not seed or volume not in (document.get("volumes") or {}):
            continue
        claim = dns_name(volume)
        where = ("volumes", volume)
        if "image" not in seed:
            warnings.add(where, f"seed from {seed.get('from')!r} reads the render machine's files: copy them into the "
                                f"claim {claim} yourself, or seed from an image; no Job written")
            continue
        if claim not in claims:
            warnings.add(where, f"volume {volume} is a StatefulSet's own claim; seed it from the image in an init "
                                "container patch; no Job written")
            continue
        subpath = str(seed.get("subpath") or "").strip("/")
        target = "/seed/" + subpath if subpath else "/seed"
        owner = seed.get("owner") or (caches.get(volume) or {}).get("owner")
        marker = f"{target}/.mlstack-seeded"
        script = f"mkdir -p {target}"
        if seed.get("mode", "once") == "once":
            script = f"if [ -e {marker} ]; then echo already seeded; exit 0; fi; " + script
        script += f" && cp -a {seed['path'].rstrip('/')}/. {target}/"
        if owner:
            script += f" && chown -R {owner} {target}"
        script += f" && touch {marker}"
        labels = {"app.kubernetes.io/name": f"seed-{claim}", "app.kubernetes.io/part-of": dns_name(rendered.stack.name),
                  "app.kubernetes.io/managed-by": "mlstack"}
        pod = {"restartPolicy": "OnFailure",
               "containers": [{"name": "seed", "image": seed["image"], "command": ["sh", "-c", script.replace("$", "$$")],
                               "securityContext": {"runAsUser": 0},
                               "volumeMounts": [{"name": claim, "mountPath": "/seed"}]}],
               "volumes": [{"name": claim, "persistentVolumeClaim": {"claimName": claim}}]}
        jobs.append(_object("batch/v1", "Job", f"seed-{claim}", labels,
                            {"backoffLimit": 3, "template": {"metadata": {"labels": labels}, "spec": pod}}))
    return jobs
