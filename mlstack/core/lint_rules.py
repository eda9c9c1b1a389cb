"""The lint rules, one row each, in id order: what a reader scans to know what `mlstack lint` checks.

Ids are stable: a rule that goes away leaves its id unused. `dev` and `prod` are the severities in
profiles of that kind (off, info, warning, error); mlstack.yaml can raise or lower them per stack
or per profile. docs/lint.md is generated from this table (python -m mlstack.core.lint_reference).
"""

from __future__ import annotations

from mlstack.core.lint_build import cache_volume, dockerignore
from mlstack.core.lint_exposure import data_service_public, host_privileges, plain_text_secret, port_all_interfaces
from mlstack.core.lint_images import healthcheck_tool, image_digest, image_tag, root_user
from mlstack.core.lint_model import Rule
from mlstack.core.lint_services import (depends_across_profiles, gpu_in_base, gpu_shm_size, healthcheck,
                                        healthy_without_healthcheck, init_not_awaited, resource_limits,
                                        source_bind_mount)

RULES: list[Rule] = [
    Rule("MLS001", "image-tag", "an image pulled with no tag or with :latest", "warning", "error", image_tag,
         why="`latest` is whatever was pushed last: two machines, or one machine a week apart, run different "
             "software from the same file, and a rollback has nothing to roll back to.",
         fix="Pin a version, `image: nginx:1.27`. Images the stack builds itself (the service has `build`) and "
             "images pinned by digest are not flagged."),
    Rule("MLS002", "healthcheck", "a long-running service without a healthcheck", "warning", "error", healthcheck,
         why="Without one, started is all anyone knows: `depends_on: {condition: service_healthy}` cannot wait for "
             "it and `mlstack up` cannot tell ready from stuck.",
         fix="Add a `healthcheck` whose `test` asks the service itself, e.g. `[\"CMD\", \"pg_isready\", \"-U\", "
             "\"postgres\"]`. `healthcheck: {disable: true}` is a deliberate choice and is not flagged, nor is a "
             "one-shot service (one waited for with `service_completed_successfully`, or named init, migrate, "
             "setup, seed...)."),
    Rule("MLS003", "gpu-shm-size", "a GPU or Jupyter service with Docker's 64 MB /dev/shm", "warning", "error",
         gpu_shm_size,
         why="PyTorch DataLoader workers pass batches through shared memory; with `num_workers > 0` training dies "
             "with \"Bus error\" or \"DataLoader worker exited unexpectedly\" (meta-pytorch/torchx#428). A GPU "
             "reservation is what docs/gpu.md defines (`gpus:`, or a device with the `gpu` capability, the "
             "`nvidia` driver or a `cdi` nvidia.com/gpu device).",
         fix="`shm_size: 8gb` (at least `1g`). `ipc: host` also satisfies this rule, but MLS008 flags it in prod."),
    Rule("MLS004", "port-all-interfaces", "a port published on every interface of the host", "warning", "warning",
         port_all_interfaces,
         why="The service becomes reachable from the whole network, and Docker's own firewall rules bypass the "
             "host firewall (ufw, firewalld). Data services are MLS009's.",
         fix="`\"127.0.0.1:8888:8888\"` (long form `host_ip: 127.0.0.1`) unless other machines must reach the "
             "port; then publish it deliberately, behind authentication, and silence the rule with the reason.",
         security="5.0"),
    Rule("MLS005", "plain-text-secret", "a password, token or key written into the file", "warning", "error",
         plain_text_secret,
         why="The file is committed, printed by `docker compose config` and shown by `docker inspect`: the secret "
             "leaks with all of them. Names ending in _FILE, _PATH, _DIR or _ID, empty values and values from "
             "interpolation (`${VAR}`) are not flagged.",
         fix="A Compose secret (`secrets:` at the top level and on the service, read from `/run/secrets/NAME`), "
             "or `${VAR:?}` so the value comes from the environment and rendering fails without it.",
         security="7.5"),
    Rule("MLS006", "image-digest", "an image pulled by tag, not by digest", "off", "info", image_digest,
         why="A tag can be pushed again: the same file can deploy a different image tomorrow. Only a digest names "
             "one image for good.",
         fix="`image: postgres:16.4-bookworm@sha256:...` (`docker buildx imagetools inspect IMAGE` prints it); "
             "a tool such as Renovate keeps digests current."),
    Rule("MLS007", "root-user", "a container that runs as root where it need not", "warning", "error", root_user,
         why="Root in the container is root on every mounted volume and one kernel bug away from root on the host. "
             "Images whose entrypoint drops root itself (postgres, redis) are not flagged; an image mlstack does "
             "not know is flagged when the service sets no `user`; a built image is judged by its Dockerfile's "
             "last USER.",
         fix="`user: \"1000:1000\"`, a USER line in the Dockerfile, or the image's unprivileged variant.",
         security="6.0"),
    Rule("MLS008", "host-privileges", "privileged, added capabilities, host namespaces, the Docker socket", "error",
         "error", host_privileges,
         why="Each one hands the container a piece of the host: `privileged`, `cap_add`, `network_mode`/`pid`/"
             "`ipc`/`userns_mode: host`, unconfined seccomp or AppArmor, a mounted Docker socket (root on the host "
             "for whoever reaches the container). `ipc: host` on a GPU or Jupyter service is allowed in dev.",
         fix="Remove it, or add the one capability needed and silence the rule with the reason.",
         security="9.0"),
    Rule("MLS009", "data-service-public", "a database, vector store or tracking server on every interface", "error",
         "error", data_service_public,
         why="postgres, redis, qdrant and mlflow (by service name or image) ship without authentication or with a "
             "development password: on all interfaces anyone on the network reads and writes the data.",
         fix="Publish on 127.0.0.1 (`\"127.0.0.1:5432:5432\"`), or not at all: services reach it by name.",
         security="8.0"),
    Rule("MLS010", "gpu-in-base", "a GPU reservation in a base fragment instead of a profile", "warning", "warning",
         gpu_in_base,
         why="A base fragment holds for every profile: CI and laptops without a GPU get the reservation too, and "
             "plain `docker compose` fails to start the service there.",
         fix="Move `deploy.resources.reservations.devices` (or `gpus:`) to the profiles that run on GPU hosts; "
             "mlstack's GPU policy (docs/gpu.md) is the other way, with the reason given when silencing."),
    Rule("MLS011", "healthy-without-healthcheck", "depends_on service_healthy on a service without a healthcheck",
         "error", "error", healthy_without_healthcheck,
         why="The dependency never becomes healthy, so Compose never starts the dependent service: `up` fails with "
             "\"dependency failed to start\".",
         fix="Give the dependency a healthcheck, or wait for `service_started`."),
    Rule("MLS012", "depends-across-profiles", "depends_on a service in Compose profiles the dependent is not in",
         "error", "error", depends_across_profiles,
         why="With only the dependent's profiles enabled, the dependency is disabled, and Compose refuses to start "
             "the dependent (docker/compose#12900). Validation rejects this for the Compose profiles enabled now "
             "(COMPOSE_PROFILES); this rule checks every combination, e.g. `--profile debug` alone.",
         fix="Give both services the same `profiles`, or mark the dependency `required: false`."),
    Rule("MLS013", "init-not-awaited", "an init service nobody waits for with service_completed_successfully",
         "warning", "error", init_not_awaited,
         why="A migration or seeding job that nothing waits for races the services that need its result: they "
             "start on an empty or half-migrated database.",
         fix="`depends_on: {migrate: {condition: service_completed_successfully}}` on each service that needs it."),
    Rule("MLS014", "source-bind-mount", "the source tree bind-mounted into a prod container", "off", "error",
         source_bind_mount,
         why="The container runs whatever is checked out on the host, not the image that was built, tested and "
             "tagged; a `git pull` on the server changes production.",
         fix="COPY the code into the image and drop the mount from the prod profile (keep it in dev)."),
    Rule("MLS015", "resource-limits", "a prod service without a memory limit", "off", "warning", resource_limits,
         why="One leak or oversized batch takes the host's memory from every other service, and the kernel's OOM "
             "killer picks the victim.",
         fix="`deploy.resources.limits.memory` (and `cpus`), or `mem_limit`, in the prod profile."),
    Rule("MLS016", "dockerignore", "a local build context without a .dockerignore that keeps ML files out",
         "warning", "error", dockerignore,
         why="The whole context goes to the engine on every build and `COPY . .` bakes it into a layer: weights "
             "and datasets make builds slow and images huge, and `.git` and `.env` leak history and secrets.",
         fix="A `.dockerignore` in the context (or `<Dockerfile>.dockerignore`) excluding model weights, "
             "datasets, notebooks, `.git` and `.env`; the sample paths each must exclude are listed below.",
         security="5.5"),
    Rule("MLS017", "cache-volume", "a model cache volume that is neither seeded nor declared", "warning", "warning",
         cache_volume,
         why="Every new machine downloads the models again, and `mlstack seed` does not know the volume is a "
             "cache it can fill (docs/seeding.md).",
         fix="Name the volume in the fragment's `x-mlstack.caches`, or give it a `seed` in mlstack.yaml's "
             "`volumes`."),
    Rule("MLS018", "healthcheck-tool", "a healthcheck that calls a tool the image does not ship", "error", "error",
         healthcheck_tool,
         why="`curl` is not in the qdrant, mlflow, postgres or redis images: the check fails forever, the service "
             "stays unhealthy and everything waiting for it stays down.",
         fix="Use what the image has: `pg_isready`, `redis-cli ping`, `python -c \"import urllib.request; ...\"`, "
             "or bash's `/dev/tcp` (qdrant)."),
]
BY_ID = {rule.id: rule for rule in RULES}
