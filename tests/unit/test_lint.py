"""Best-practice warnings: (compose YAML, every warning as the user reads it)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mlstack.core.canonical import canonical
from mlstack.core.interpolate import interpolate
from mlstack.core.lint import LINT_RULES, lint
from mlstack.core.load import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
ENV = {"DB_PASSWORD": "from-the-environment"}
HEALTHY = "healthcheck: {test: [CMD, 'true']}"


def warnings(text: str) -> list[str]:
    """Parsed, interpolated and in long form, as the pipeline has it when it lints."""
    root = parse_yaml(textwrap.dedent(text).replace("HEALTHY", HEALTHY), "compose.yaml")
    interpolate(root, ENV)
    return [str(warning) for warning in lint(canonical(root))]


CASES = [
    ("nothing to say", """
        services:
          web:
            image: nginx:1.27
            ports: ["127.0.0.1:8080:80"]
            environment: {DB_PASSWORD: "${DB_PASSWORD:?}", DB_PASSWORD_FILE: /run/secrets/db}
            HEALTHY
          app:
            image: app
            build: .
            HEALTHY
          pinned:
            image: nginx@sha256:0123456789abcdef
            HEALTHY
     """, []),
    ("image without a tag, or tagged latest", """
        services:
          a:
            image: nginx
            HEALTHY
          b:
            image: registry.local:5000/team/tool
            HEALTHY
          c:
            image: python:latest
            HEALTHY
     """, ['compose.yaml:4:12: services.a.image: warning: image "nginx" has no tag, so it means :latest; pin a version',
           'compose.yaml:7:12: services.b.image: warning: image "registry.local:5000/team/tool" has no tag, '
           "so it means :latest; pin a version",
           'compose.yaml:10:12: services.c.image: warning: image "python:latest" uses the latest tag; pin a version']),
    ("no healthcheck", """
        services:
          web:
            image: nginx:1.27
          off:
            image: nginx:1.27
            healthcheck: {disable: true}
     """, ["compose.yaml:4:5: services.web: warning: no healthcheck: nothing can wait until it is ready "
           "(depends_on condition: service_healthy)"]),
    ("GPU without shm_size, or too little", """
        services:
          train:
            image: pytorch/pytorch:2.5.1
            deploy:
              resources:
                reservations:
                  devices: [{driver: nvidia, count: all, capabilities: [gpu]}]
            HEALTHY
          small:
            image: pytorch/pytorch:2.5.1
            gpus: all
            shm_size: 512m
            HEALTHY
          enough:
            image: pytorch/pytorch:2.5.1
            gpus: all
            shm_size: 8gb
            HEALTHY
          cpu:
            image: pytorch/pytorch:2.5.1
            HEALTHY
     """, ["compose.yaml:4:5: services.train: warning: reserves a GPU but sets no shm_size: PyTorch DataLoader workers "
           "need more than Docker's 64 MB /dev/shm (set shm_size: 1g or more)",
           "compose.yaml:13:15: services.small.shm_size: warning: shm_size 512m is below 1g for a GPU service: "
           "PyTorch DataLoader workers need more than Docker's 64 MB /dev/shm"]),
    ("ports on all interfaces", """
        services:
          web:
            image: nginx:1.27
            ports: ["8080:80", "0.0.0.0:8443:443", "9000", "127.0.0.1:5000:5000"]
            HEALTHY
     """, ["compose.yaml:5:13: services.web.ports[0]: warning: host port 8080 is published on all interfaces; "
           "set host_ip: 127.0.0.1 unless other machines need it",
           "compose.yaml:5:24: services.web.ports[1]: warning: host port 8443 is published on all interfaces; "
           "set host_ip: 127.0.0.1 unless other machines need it",
           "compose.yaml:5:44: services.web.ports[2]: warning: a random host port for container port 9000 is published "
           "on all interfaces; set host_ip: 127.0.0.1 unless other machines need it"]),
    ("secrets written in plain text", """
        services:
          web:
            image: nginx:1.27
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
          worker:
            image: nginx:1.27
            environment: [SECRET_KEY=abc]
            HEALTHY
     """, ["compose.yaml:6:26: services.web.environment.POSTGRES_PASSWORD: warning: looks like a secret in plain text; "
           "use a compose secret or ${POSTGRES_PASSWORD:?} and set the value outside the file",
           "compose.yaml:7:17: services.web.environment.HF_TOKEN: warning: looks like a secret in plain text; "
           "use a compose secret or ${HF_TOKEN:?} and set the value outside the file",
           "compose.yaml:17:19: services.worker.environment.SECRET_KEY: warning: looks like a secret in plain text; "
           "use a compose secret or ${SECRET_KEY:?} and set the value outside the file"]),
]


@pytest.mark.parametrize("text, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_lint(text, expected):
    assert warnings(text) == expected


def test_every_rule_is_documented():
    page = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
    assert [rule_id for rule_id, _, _ in LINT_RULES if f"## `{rule_id}`" not in page] == []


def test_warnings_are_warnings():
    found = lint(canonical(parse_yaml("services: {web: {image: nginx}}", "compose.yaml")))
    assert {(warning.rule, warning.severity) for warning in found} == {("image-tag", "warning"), ("healthcheck", "warning")}
