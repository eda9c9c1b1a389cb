"""Lint rules: (compose YAML, profile kind, every finding as the user reads it), one helper.

The model is parsed, interpolated and in long form, as the pipeline hands it to lint; `HEALTHY`
stands for a healthcheck, so that a case shows only the rule it is about.
"""

from __future__ import annotations

import textwrap

import pytest

from mlstack.core.canonical import canonical
from mlstack.core.interpolate import interpolate
from mlstack.core.lint import failing, lint
from mlstack.core.lint_build import ignored
from mlstack.core.lint_config import LintConfig, lint_config
from mlstack.core.lint_images import healthcheck_programs, split_reference
from mlstack.core.lint_model import BuildContext, LintInput
from mlstack.core.lint_rules import BY_ID, RULES
from mlstack.core.load import parse_yaml
from mlstack.errors import StackError

ENV = {"DB_PASSWORD": "from-the-environment"}
HEALTHY = "healthcheck: {test: [CMD, 'true']}"
IGNORE_ALL = ".git\n.env\n**/*.ipynb\ndata/\ndatasets/\nmodels/\n**/*.pt\n**/*.ckpt\n".splitlines()


def model(text: str):
    root = parse_yaml(textwrap.dedent(text).replace("HEALTHY", HEALTHY), "compose.yaml")
    interpolate(root, ENV)
    return canonical(root)


def findings(text: str, kind: str = "dev", config: LintConfig | None = None, **facts) -> list[str]:
    return [str(finding) for finding in lint(LintInput(model(text), kind, **facts), config)]


CASES = [
    ("nothing to say", "prod", """
        services:
          web:
            image: nginx:1.27@sha256:0123
            user: "101:101"
            ports: ["127.0.0.1:8080:80"]
            environment: {DB_PASSWORD: "${DB_PASSWORD:?}", DB_PASSWORD_FILE: /run/secrets/db}
            deploy: {resources: {limits: {memory: 1g}}}
            HEALTHY
     """, []),
    ("MLS001 image without a tag, or tagged latest", "dev", """
        services:
          a:
            image: nginx
            user: "1"
            HEALTHY
          b:
            image: registry.local:5000/team/tool
            user: "1"
            HEALTHY
          c:
            image: python:latest
            user: "1"
            HEALTHY
          built:
            image: app
            build: .
            user: "1"
            HEALTHY
          pinned:
            image: nginx@sha256:0123456789abcdef
            user: "1"
            HEALTHY
     """, ['compose.yaml:4:12: services.a.image: warning: MLS001 image "nginx" has no tag, so it means :latest; pin a version',
           'compose.yaml:8:12: services.b.image: warning: MLS001 image "registry.local:5000/team/tool" has no tag, '
           "so it means :latest; pin a version",
           'compose.yaml:12:12: services.c.image: warning: MLS001 image "python:latest" uses the latest tag; pin a version']),
    ("MLS001 is an error in prod", "prod", """
        services:
          a:
            image: nginx@sha256:0123
            user: "1"
            deploy: {resources: {limits: {memory: 1g}}}
            HEALTHY
          b:
            image: nginx:latest@sha256:0123
            user: "1"
            mem_limit: 1g
            HEALTHY
     """, []),
    ("MLS002 no healthcheck, except a deliberate or a one-shot one", "dev", """
        services:
          web:
            image: nginx:1.27
            user: "1"
            depends_on: {migrate: {condition: service_completed_successfully}, setup-db: {condition: service_completed_successfully}}
          off:
            image: nginx:1.27
            user: "1"
            healthcheck: {disable: true}
          migrate:
            image: nginx:1.27
            user: "1"
          setup-db:
            image: nginx:1.27
            user: "1"
     """, ["compose.yaml:4:5: services.web: warning: MLS002 no healthcheck: nothing can wait until it is ready "
           "(depends_on condition: service_healthy)"]),
    ("MLS003 GPU or Jupyter without shm_size, or too little", "dev", """
        services:
          train:
            image: pytorch/pytorch:2.5.1
            user: "1"
            deploy:
              resources:
                reservations:
                  devices: [{driver: nvidia, count: all, capabilities: [gpu]}]
            HEALTHY
          small:
            image: pytorch/pytorch:2.5.1
            user: "1"
            gpus: all
            shm_size: 512m
            HEALTHY
          enough:
            image: pytorch/pytorch:2.5.1
            user: "1"
            gpus: all
            shm_size: 8gb
            HEALTHY
          host-ipc:
            image: pytorch/pytorch:2.5.1
            user: "1"
            gpus: all
            ipc: host
            HEALTHY
          notebook:
            image: quay.io/jupyter/pytorch-notebook:2024-10-07
            HEALTHY
          cpu:
            image: pytorch/pytorch:2.5.1
            user: "1"
            HEALTHY
     """, ["compose.yaml:4:5: services.train: warning: MLS003 reserves a GPU but sets no shm_size: PyTorch DataLoader "
           "workers need more than Docker's 64 MB /dev/shm (set shm_size: 1g or more)",
           "compose.yaml:9:21: services.train.deploy.resources.reservations.devices[0]: warning: MLS010 a GPU reservation "
           "in a base fragment holds for every profile, CI and laptops included; reserve the GPU in the profiles that have one",
           "compose.yaml:14:11: services.small.gpus: warning: MLS010 a GPU reservation in a base fragment holds for every "
           "profile, CI and laptops included; reserve the GPU in the profiles that have one",
           "compose.yaml:15:15: services.small.shm_size: warning: MLS003 shm_size 512m is below 1g for a service that "
           "reserves a GPU: PyTorch DataLoader workers need more than Docker's 64 MB /dev/shm",
           "compose.yaml:20:11: services.enough.gpus: warning: MLS010 a GPU reservation in a base fragment holds for every "
           "profile, CI and laptops included; reserve the GPU in the profiles that have one",
           "compose.yaml:26:11: services.host-ipc.gpus: warning: MLS010 a GPU reservation in a base fragment holds for "
           "every profile, CI and laptops included; reserve the GPU in the profiles that have one",
           "compose.yaml:30:5: services.notebook: warning: MLS003 runs Jupyter but sets no shm_size: PyTorch DataLoader "
           "workers need more than Docker's 64 MB /dev/shm (set shm_size: 1g or more)"]),
    ("MLS004 ports on all interfaces; MLS009 a data service there", "dev", """
        services:
          web:
            image: nginx:1.27
            user: "1"
            ports: ["8080:80", "0.0.0.0:8443:443", "9000", "127.0.0.1:5000:5000"]
            HEALTHY
          postgres:
            image: postgres:16.4
            ports: ["127.0.0.1:5432:5432"]
            HEALTHY
          vectors:
            image: qdrant/qdrant:v1.12.4-unprivileged
            ports: ["6333:6333"]
            HEALTHY
          mlflow:
            image: team/mlflow:2.17
            user: "1"
            ports: ["[::]:5000:5000"]
            HEALTHY
     """, ["compose.yaml:6:13: services.web.ports[0]: warning: MLS004 host port 8080 is published on all interfaces; "
           "set host_ip: 127.0.0.1 unless other machines need it",
           "compose.yaml:6:24: services.web.ports[1]: warning: MLS004 host port 8443 is published on all interfaces; "
           "set host_ip: 127.0.0.1 unless other machines need it",
           "compose.yaml:6:44: services.web.ports[2]: warning: MLS004 a random host port for container port 9000 is "
           "published on all interfaces; set host_ip: 127.0.0.1 unless other machines need it",
           "compose.yaml:14:13: services.vectors.ports[0]: error: MLS009 host port 6333 of data service vectors is "
           "published on all interfaces, for anyone on the network to read and write; publish it on 127.0.0.1, or not at all",
           "compose.yaml:19:13: services.mlflow.ports[0]: error: MLS009 host port 5000 of data service mlflow is "
           "published on all interfaces, for anyone on the network to read and write; publish it on 127.0.0.1, or not at all"]),
    ("MLS005 secrets written in plain text", "prod", """
        services:
          web:
            image: nginx:1.27@sha256:0123
            user: "1"
            mem_limit: 1g
            environment:
              POSTGRES_PASSWORD: hunter2
              HF_TOKEN: hf_abc
              TOKENIZERS_PARALLELISM: "false"
              AWS_ACCESS_KEY_ID: AKIA0000
              PGPASSWORD_FILE: /run/secrets/pg
              API_KEY: ""
              JUPYTER_TOKEN:
              DB_PASSWORD: ${DB_PASSWORD}
            HEALTHY
     """, ["compose.yaml:8:26: services.web.environment.POSTGRES_PASSWORD: error: MLS005 looks like a secret in plain text; "
           "use a compose secret or ${POSTGRES_PASSWORD:?} and set the value outside the file",
           "compose.yaml:9:17: services.web.environment.HF_TOKEN: error: MLS005 looks like a secret in plain text; "
           "use a compose secret or ${HF_TOKEN:?} and set the value outside the file"]),
    ("MLS006 a tag is not a digest, in prod only as info; built images are not pulled", "prod", """
        services:
          web:
            image: nginx:1.27
            user: "1"
            mem_limit: 1g
            HEALTHY
          app:
            image: team/app:1.0
            build: .
            user: "1"
            mem_limit: 1g
            HEALTHY
     """, ['compose.yaml:4:12: services.web.image: info: MLS006 image "nginx:1.27" is not pinned by digest; a tag can be '
           'pushed again (image@sha256:...)']),
    ("MLS007 root by user, by an unknown image's default, by an image that needs it", "dev", """
        services:
          explicit:
            image: team/tool:1.0
            user: "0:0"
            HEALTHY
          named-root:
            image: team/tool:1.0
            user: root
            HEALTHY
          unknown:
            image: team/tool:1.0
            HEALTHY
          qdrant:
            image: qdrant/qdrant:v1.12.4
            HEALTHY
          unprivileged:
            image: qdrant/qdrant:v1.12.4-unprivileged
            HEALTHY
          drops-root-itself:
            image: redis:7.4.1
            HEALTHY
          notebook:
            image: quay.io/jupyter/base-notebook:2024-10-07
            shm_size: 1g
            HEALTHY
          app:
            user: "1000"
            image: team/app:1.0
            HEALTHY
     """, ["compose.yaml:5:11: services.explicit.user: warning: MLS007 runs as root (user: 0:0); set an unprivileged UID:GID",
           "compose.yaml:9:11: services.named-root.user: warning: MLS007 runs as root (user: root); set an unprivileged UID:GID",
           "compose.yaml:12:5: services.unknown: warning: MLS007 sets no user, so team/tool:1.0 runs as its default user, "
           "root for most images; set user: UID:GID",
           "compose.yaml:15:5: services.qdrant: warning: MLS007 qdrant/qdrant:v1.12.4 runs as root; the "
           "qdrant/qdrant:<version>-unprivileged variant runs as uid 1000"]),
    ("MLS008 the host's privileges, ipc: host allowed for a GPU in dev", "dev", """
        services:
          a:
            image: team/tool:1.0
            user: "1000"
            privileged: true
            cap_add: [SYS_ADMIN]
            network_mode: host
            pid: host
            ipc: host
            security_opt: ["seccomp:unconfined", "no-new-privileges:true"]
            volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro", "/srv/data:/data"]
            HEALTHY
          train:
            image: team/tool:1.0
            user: "1000"
            shm_size: 8g
            ipc: host
            gpus: all
            HEALTHY
     """, ["compose.yaml:6:17: services.a.privileged: error: MLS008 privileged: true gives the container every device and "
           "capability of the host; add the one capability it needs",
           "compose.yaml:7:15: services.a.cap_add[0]: error: MLS008 adds capability SYS_ADMIN; drop it unless the service "
           "cannot work without it",
           "compose.yaml:8:19: services.a.network_mode: error: MLS008 network_mode: host shares the host's network stack",
           "compose.yaml:9:10: services.a.pid: error: MLS008 pid: host sees and signals every process of the host",
           "compose.yaml:10:10: services.a.ipc: error: MLS008 ipc: host shares the host's IPC namespace and shared memory",
           "compose.yaml:11:20: services.a.security_opt[0]: error: MLS008 security_opt seccomp:unconfined removes a confinement",
           "compose.yaml:12:15: services.a.volumes[0]: error: MLS008 mounts the Docker socket (/var/run/docker.sock): "
           "whoever controls the container controls the host",
           "compose.yaml:19:11: services.train.gpus: warning: MLS010 a GPU reservation in a base fragment holds for every "
           "profile, CI and laptops included; reserve the GPU in the profiles that have one"]),
    ("MLS008 ipc: host for a GPU in prod", "prod", """
        services:
          train:
            image: team/tool:1.0@sha256:0123
            user: "1000"
            mem_limit: 8g
            ipc: host
            HEALTHY
     """, ["compose.yaml:7:10: services.train.ipc: error: MLS008 ipc: host shares the host's IPC namespace and shared memory"]),
    ("MLS011 waiting for health that never comes; MLS012 across Compose profiles", "dev", """
        services:
          app:
            image: team/app:1.0
            user: "1"
            depends_on:
              cache: {condition: service_healthy}
              db: {condition: service_healthy}
              gpu-worker: {condition: service_started}
              optional: {condition: service_started, required: false}
            HEALTHY
          cache:
            image: team/cache:1.0
            user: "1"
            healthcheck: {test: ["NONE"]}
          db:
            image: team/db:1.0
            user: "1"
            HEALTHY
          gpu-worker:
            image: team/worker:1.0
            user: "1"
            profiles: [gpu]
            HEALTHY
          optional:
            image: team/worker:1.0
            user: "1"
            profiles: [extra]
            HEALTHY
          debug-ui:
            image: team/ui:1.0
            user: "1"
            profiles: [debug, gpu]
            depends_on: [gpu-worker]
            HEALTHY
          gpu-ui:
            image: team/ui:1.0
            user: "1"
            profiles: [gpu]
            depends_on: [gpu-worker]
            HEALTHY
     """, ["compose.yaml:7:26: services.app.depends_on.cache.condition: error: MLS011 waits for cache to be healthy, but "
           "cache has no healthcheck, so it never is and the stack does not start",
           "compose.yaml:9:19: services.app.depends_on.gpu-worker: error: MLS012 app starts without a Compose profile, but "
           "gpu-worker only with gpu: Compose then refuses to start app (docker/compose#12900); give both the same profiles",
           "compose.yaml:34:18: services.debug-ui.depends_on.gpu-worker: error: MLS012 debug-ui starts with Compose profile "
           "debug, but gpu-worker only with gpu: Compose then refuses to start debug-ui (docker/compose#12900); give both "
           "the same profiles"]),
    ("MLS013 an init service nobody waits for", "dev", """
        services:
          db-migrate:
            image: team/app:1.0
            user: "1"
          seed:
            image: team/app:1.0
            user: "1"
          app:
            image: team/app:1.0
            user: "1"
            depends_on: {seed: {condition: service_completed_successfully}}
            HEALTHY
          manual-setup:
            image: team/app:1.0
            user: "1"
            profiles: [tools]
     """, ["compose.yaml:4:5: services.db-migrate: warning: MLS013 db-migrate looks like a one-shot init service, but no "
           "service waits for it with depends_on condition: service_completed_successfully, so they race it"]),
    ("MLS014 the source tree mounted in prod; MLS015 no memory limit there", "prod", """
        services:
          app:
            image: team/app:1.0@sha256:0123
            user: "1"
            volumes: ["./src:/app/src", "/srv/models:/models:ro", "weights:/weights", ".:/workspace"]
            HEALTHY
        volumes:
          weights: {}
     """, ["compose.yaml:4:5: services.app: warning: MLS015 no memory limit: one leak or oversized batch takes the host's "
           "memory from every other service (deploy.resources.limits.memory)",
           "compose.yaml:6:15: services.app.volumes[0]: error: MLS014 bind-mounts ./src from the source tree: the container "
           "runs whatever is checked out on the host, not the image that was built and tested; COPY it into the image",
           "compose.yaml:6:79: services.app.volumes[3]: error: MLS014 bind-mounts . from the source tree: the container "
           "runs whatever is checked out on the host, not the image that was built and tested; COPY it into the image"]),
    ("MLS014 and MLS015 are off in dev", "dev", """
        services:
          app:
            image: team/app:1.0
            user: "1"
            volumes: ["./src:/app/src"]
            HEALTHY
     """, []),
    ("MLS017 a model cache that is neither seeded nor declared", "dev", """
        services:
          train:
            image: team/train:1.0
            user: "1"
            environment: {TORCH_HOME: /models/torch}
            volumes:
              - hf:/root/.cache/huggingface
              - torch:/models/torch
              - declared:/home/app/.cache/huggingface/hub
              - seeded:/data/huggingface
              - work:/work
              - /srv/hf:/mnt/.cache/huggingface
            HEALTHY
        volumes: {hf: {}, torch: {}, declared: {}, seeded: {}, work: {}}
     """, ["compose.yaml:8:9: services.train.volumes[0]: warning: MLS017 volume hf holds a model cache "
           "(/root/.cache/huggingface) but is neither seeded (volumes.<name>.seed in mlstack.yaml) nor named in "
           "x-mlstack.caches: every new machine downloads the models again, and mlstack seed cannot fill it",
           "compose.yaml:9:9: services.train.volumes[1]: warning: MLS017 volume torch holds a model cache (/models/torch) "
           "but is neither seeded (volumes.<name>.seed in mlstack.yaml) nor named in x-mlstack.caches: every new machine "
           "downloads the models again, and mlstack seed cannot fill it"]),
    ("MLS018 a healthcheck tool the image lacks", "dev", """
        services:
          qdrant:
            image: qdrant/qdrant:v1.12.4-unprivileged
            healthcheck: {test: ["CMD-SHELL", "wget -q -O- http://127.0.0.1:6333/readyz || exit 1"]}
          db:
            image: postgres:16.4
            healthcheck: {test: ["CMD", "/usr/bin/curl", "-f", "http://127.0.0.1:5432"]}
          redis:
            image: redis:7.4.1
            healthcheck: {test: ["CMD-SHELL", "redis-cli ping | grep -q PONG"]}
          web:
            image: nginx:1.27
            user: "101"
            healthcheck: {test: ["CMD", "curl", "-f", "http://127.0.0.1"]}
          alpine:
            image: redis:7.4.1-alpine3.20
            healthcheck: {test: ["CMD-SHELL", "wget -q -O- http://127.0.0.1:8080/ || exit 1"]}
     """, ["compose.yaml:5:25: services.qdrant.healthcheck.test: error: MLS018 the healthcheck runs wget, which "
           "qdrant/qdrant:v1.12.4-unprivileged does not ship, so the service never becomes healthy",
           "compose.yaml:8:25: services.db.healthcheck.test: error: MLS018 the healthcheck runs curl, which postgres:16.4 "
           "does not ship, so the service never becomes healthy"]),
]


@pytest.mark.parametrize("kind, text, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_lint(kind, text, expected):
    assert findings(text, kind, caches=frozenset({"declared"}), seeded=frozenset({"seeded"})) == expected


# --- build contexts: the facts the command layer reads from disk ------------------------------
BUILT = """
    services:
      app:
        image: team/app:1.0
        build: {context: ./app}
        HEALTHY
"""


@pytest.mark.parametrize("context, expected", [
    (BuildContext("./app", None, None, "python:3.12-slim"),
     ["compose.yaml:4:5: services.app: warning: MLS007 sets no user and its Dockerfile has no USER (or USER root), so it "
      "runs as root; add USER to the Dockerfile or set user: UID:GID",
      "compose.yaml:5:22: services.app.build.context: warning: MLS016 build context ./app has no .dockerignore: weights, "
      "datasets, notebooks, .git and .env are sent to the engine and COPY puts them in the image"]),
    (BuildContext("./app", (".git", "**/*.ipynb", "data/"), "10001:10001", "python:3.12-slim"),
     ["compose.yaml:5:22: services.app.build.context: warning: MLS016 .dockerignore of build context ./app does not "
      "exclude model weights, datasets, .env"]),
    (BuildContext("./app", tuple(IGNORE_ALL), "app", "python:3.12-slim"), []),
    (BuildContext("./app", tuple(IGNORE_ALL), "root", "python:3.12-slim"),
     ["compose.yaml:4:5: services.app: warning: MLS007 sets no user and its Dockerfile has no USER (or USER root), so it "
      "runs as root; add USER to the Dockerfile or set user: UID:GID"]),
], ids=["no .dockerignore, no USER", "a .dockerignore that misses some", "all excluded, USER app", "USER root"])
def test_build_context_facts(context, expected):
    assert findings(BUILT, contexts={"app": context}) == expected


def test_a_built_image_lacks_what_its_base_lacks():
    text = """
        services:
          mlflow:
            image: team/mlflow:2.17
            build: ./mlflow
            healthcheck: {test: ["CMD", "curl", "-f", "http://127.0.0.1:5000/health"]}
    """
    context = BuildContext("./mlflow", tuple(IGNORE_ALL), "10001", "ghcr.io/mlflow/mlflow:v2.17.2")
    assert findings(text, contexts={"mlflow": context}) == [
        "compose.yaml:6:25: services.mlflow.healthcheck.test: error: MLS018 the healthcheck runs curl, which "
        "ghcr.io/mlflow/mlflow:v2.17.2 (its base image) does not ship, so the service never becomes healthy"]


@pytest.mark.parametrize("patterns, path, expected", [
    (["*.pt"], "model.pt", True),
    (["*.pt"], "checkpoints/model.pt", False),          # one level only, as Docker matches it
    (["**/*.pt"], "checkpoints/model.pt", True),
    (["**/*.pt"], "model.pt", True),
    (["models"], "models/model.safetensors", True),     # a directory excludes what it holds
    (["/models/"], "models/model.safetensors", True),
    (["./data"], "data/train.parquet", True),
    (["data", "!data/train.parquet"], "data/train.parquet", False),   # the last match decides
    (["!.env", ".env"], ".env", True),
    (["# .git"], ".git", False),
    (["data?"], "data1/x", True),
    (["[a-c]*.ipynb"], "b.ipynb", True),
    (["[!a-c]*.ipynb"], "b.ipynb", False),
])
def test_dockerignore_matching(patterns, path, expected):
    assert ignored(path, tuple(patterns)) is expected


@pytest.mark.parametrize("test, programs", [
    ('["CMD", "/usr/bin/curl", "-f", "http://x"]', ["curl"]),
    ('["CMD-SHELL", "wget -q -O- http://x || exit 1"]', ["wget", "exit"]),
    ('["CMD-SHELL", "redis-cli ping | grep -q PONG && true; echo"]', ["redis-cli", "grep", "true", "echo"]),
    ('"curl -f http://x"', ["curl"]),
    ('["NONE"]', []),
])
def test_healthcheck_programs(test, programs):
    node = parse_yaml(f"test: {test}", "compose.yaml").get("test")
    assert healthcheck_programs(node) == programs


@pytest.mark.parametrize("reference, parts", [
    ("postgres", ("postgres", "", "")),
    ("docker.io/library/postgres:16.4", ("postgres", "16.4", "")),
    ("registry.local:5000/team/tool", ("registry.local:5000/team/tool", "", "")),
    ("ghcr.io/mlflow/mlflow:v2.17.2@sha256:ab", ("ghcr.io/mlflow/mlflow", "v2.17.2", "sha256:ab")),
])
def test_image_references(reference, parts):
    assert split_reference(reference) == parts


# --- the table, severities, tuning and silencing ----------------------------------------------
def test_rule_ids_are_stable_and_the_table_is_whole():
    assert [rule.id for rule in RULES] == [f"MLS{number:03d}" for number in range(1, len(RULES) + 1)]
    assert len({rule.name for rule in RULES}) == len(RULES)
    for rule in RULES:
        assert {rule.dev, rule.prod} <= {"off", "info", "warning", "error"}, rule.id
        assert rule.why.endswith(".") and rule.fix.endswith((".", ")")), rule.id


LATEST = """
    services:
      web:
        image: nginx:latest
        user: "1"
        mem_limit: 1g
        HEALTHY
"""


def stack(text: str):
    return parse_yaml(textwrap.dedent(text), "mlstack.yaml")


def test_a_profile_kind_comes_from_the_extends_chain_or_its_own_setting():
    root = stack("""
        name: s
        profiles:
          staging: {extends: prod}
          gpu-box: {overrides: [dev], lint: {kind: dev}}
          mine: {overrides: [dev]}
    """)
    chains = {"dev": ["dev"], "prod": ["prod"], "staging": ["staging", "prod"], "gpu-box": ["gpu-box"], "mine": ["mine"]}
    kinds = {name: lint_config(root, chain, set(BY_ID)).kind for name, chain in chains.items()}
    assert kinds == {"dev": "dev", "prod": "prod", "staging": "prod", "gpu-box": "dev", "mine": "prod"}


def test_severities_are_raised_and_lowered_down_the_chain():
    root = stack("""
        name: s
        lint: {severity: {MLS001: error, MLS006: warning}}
        profiles:
          staging: {extends: prod, lint: {severity: {MLS001: info}}}
    """)
    dev = lint_config(root, ["dev"], set(BY_ID))
    staging = lint_config(root, ["staging", "prod"], set(BY_ID))
    assert findings(LATEST, "dev", dev) == [
        'compose.yaml:4:12: services.web.image: error: MLS001 image "nginx:latest" uses the latest tag; pin a version',
        'compose.yaml:4:12: services.web.image: warning: MLS006 image "nginx:latest" is not pinned by digest; a tag can be '
        'pushed again (image@sha256:...)']
    assert [line.split(": ")[2] for line in findings(LATEST, "prod", staging)] == ["info", "warning"]


def test_a_rule_off_in_the_stack_finds_nothing():
    config = lint_config(stack("name: s\nlint: {severity: {MLS001: 'off', MLS006: 'off'}}"), ["prod"], set(BY_ID))
    assert findings(LATEST, "prod", config) == []


def test_silenced_with_the_reason_and_never_failing():
    text = """
        services:
          web:
            image: nginx:latest
            user: "1"
            mem_limit: 1g
            x-mlstack: {ignore: {MLS001: "the vendor only publishes latest"}}
            HEALTHY
          other:
            image: nginx:latest
            user: "1"
            HEALTHY
    """
    no_digests = LintConfig("prod", {"MLS006": "off"})
    found = lint(LintInput(model(text), "prod"), no_digests)
    assert [str(finding) for finding in found] == [
        'compose.yaml:4:12: services.web.image: silenced MLS001 (the vendor only publishes latest): image "nginx:latest" '
        'uses the latest tag; pin a version',
        "compose.yaml:10:5: services.other: warning: MLS015 no memory limit: one leak or oversized batch takes the host's "
        "memory from every other service (deploy.resources.limits.memory)",
        'compose.yaml:10:12: services.other.image: error: MLS001 image "nginx:latest" uses the latest tag; pin a version']
    assert [finding.path for finding in failing(found)] == ["services.other.image"]
    assert [finding.path for finding in failing(found, strict=True)] == ["services.other", "services.other.image"]
    config = lint_config(stack("name: s\nlint: {ignore: {MLS001: 'mirror rewrites tags'}}"), ["prod"], set(BY_ID))
    assert {finding.silenced for finding in lint(LintInput(model(text), "prod"), config)
            if finding.rule == "MLS001"} == {"the vendor only publishes latest", "mirror rewrites tags"}


@pytest.mark.parametrize("ignore, message", [
    ('{MLS001: ""}', "compose.yaml:6:34: services.web.x-mlstack.ignore.MLS001: silencing a rule needs a reason"),
    ('{MLS999: "why"}', "compose.yaml:6:34: services.web.x-mlstack.ignore.MLS999: unknown lint rule MLS999"),
    ('[MLS001]', 'compose.yaml:6:25: services.web.x-mlstack.ignore: must map rule ids to reasons, e.g. '
                 '{MLS004: "published for the load balancer"}'),
])
def test_a_service_silences_only_known_rules_with_a_reason(ignore, message):
    text = f"""
        services:
          web:
            image: nginx:latest
            user: "1"
            x-mlstack: {{ignore: {ignore}}}
    """
    with pytest.raises(StackError) as error:
        lint(LintInput(model(text)))
    assert [str(diagnostic) for diagnostic in error.value.diagnostics] == [message]


def test_the_stack_tunes_only_known_rules():
    with pytest.raises(StackError) as error:
        lint_config(stack("name: s\nlint: {severity: {MLS999: error}}"), ["dev"], set(BY_ID))
    assert [str(diagnostic) for diagnostic in error.value.diagnostics] == [
        "mlstack.yaml:2:27: lint.severity.MLS999: unknown lint rule MLS999"]
