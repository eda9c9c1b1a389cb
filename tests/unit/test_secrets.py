"""Secrets as part of the stack definition (core.secrets): declared, wired where required, never interpolated."""

import os
import stat

import pytest
import yaml

from mlstack.lifecycle.workspace import process_environment
from mlstack.lifecycle.dev_secrets import DEV_SECRETS_FILE
from mlstack.core.secrets import declared
from mlstack.core.stack import load_stack
from mlstack.targets import convert
from tests.unit.targets_helpers import rendered

TRAINER = """\
x-mlstack:
  secrets:
    wandb_key:
      description: Weights & Biases API key
      environment: WANDB_API_KEY
      required: [prod]
      services:
        trainer: WANDB_API_KEY_FILE
services:
  trainer:
    image: python:3.11.10-slim
    environment:
      WANDB_API_KEY: ${WANDB_API_KEY:-}
    healthcheck: {test: [CMD, "true"]}
"""


def test_builtin_declarations_merge_across_fragments(tmp_path):
    secrets = declared(load_stack(None, tmp_path))
    assert sorted(secrets) == ["jupyter_token", "pg_password"]
    pg = secrets["pg_password"]
    assert (pg.variable, pg.file, pg.required) == ("POSTGRES_PASSWORD", None, ("prod",))
    assert pg.readers == {"postgres": "POSTGRES_PASSWORD_FILE", "mlflow": "PGPASSWORD_FILE"}


def test_a_fragment_secret_is_wired_in_profiles_that_require_it_and_those_extending_them(tmp_path):
    stack = "name: t\nfragments: [./trainer.yaml]\nprofiles:\n  staging:\n    extends: prod\n    overrides: []\n"
    for profile in ("prod", "staging"):
        model = rendered(tmp_path, profile, stack=stack, files={"trainer.yaml": TRAINER},
                         env={"WANDB_API_KEY": "canary-wandb-91"}).document()
        trainer = model["services"]["trainer"]
        assert trainer["environment"] == {"WANDB_API_KEY": "", "WANDB_API_KEY_FILE": "/run/secrets/wandb_key"}
        assert trainer["secrets"] == [{"source": "wandb_key"}]
        assert model["secrets"]["wandb_key"] == {"environment": "WANDB_API_KEY"}
    dev = rendered(tmp_path, "dev", stack=stack, env={"WANDB_API_KEY": "dev-key"}).document()
    assert dev["services"]["trainer"]["environment"] == {"WANDB_API_KEY": "dev-key"}
    assert "secrets" not in dev


def test_mlstack_yaml_overrides_the_source_with_a_file(tmp_path):
    stack = "name: t\nsecrets:\n  pg_password:\n    file: ./secrets/pg.txt\n"
    model = rendered(tmp_path, stack=stack, env={})
    assert model.document()["secrets"]["pg_password"] == {"file": "./secrets/pg.txt"}
    assert [str(d) for d in model.missing_secrets()] == [
        "mlstack:stacks/jupyter.yaml:30:7: secrets.jupyter_token: secret 'jupyter_token' (read by jupyter) is read from "
        "$JUPYTER_TOKEN, which is not set: export JUPYTER_TOKEN=... (or set secrets.jupyter_token.file in mlstack.yaml)",
        "mlstack.yaml:4:5: secrets.pg_password: secret 'pg_password' (read by mlflow, postgres) is read from the file "
        "./secrets/pg.txt, which does not exist: create it",
    ]
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "pg.txt").write_text("x")
    assert [d.path for d in rendered(tmp_path, stack=stack, env={"JUPYTER_TOKEN": "t"}).missing_secrets()] == []


def test_the_mlstack_yaml_schema_rejects_two_sources(tmp_path):
    from mlstack.errors import StackError

    with pytest.raises(StackError):
        rendered(tmp_path, stack="name: t\nsecrets:\n  pg_password: {file: ./a, environment: A}\n", env={})


@pytest.mark.parametrize("target", ["compose", "swarm", "k8s"])
def test_canary_a_prod_render_never_contains_a_secret_value(tmp_path, target):
    """Set in the environment and in .env: neither value appears in any file of any target."""
    (tmp_path / ".env").write_text("POSTGRES_PASSWORD=canary-dotenv-pg-5521\nJUPYTER_TOKEN=canary-dotenv-jt-5522\n")
    model = rendered(tmp_path, "prod", env={"POSTGRES_PASSWORD": "canary-env-pg-7731", "JUPYTER_TOKEN": "canary-env-jt-7732"})
    text = "".join(convert(target, model).files.values())
    for canary in ("canary-dotenv-pg-5521", "canary-dotenv-jt-5522", "canary-env-pg-7731", "canary-env-jt-7732"):
        assert canary not in text
    assert "/run/secrets/pg_password" in text


def test_dev_works_with_zero_setup_values_generated_once_and_kept_out_of_git(tmp_path, monkeypatch):
    for variable in ("POSTGRES_PASSWORD", "JUPYTER_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    stack = load_stack(None, tmp_path)
    assert "POSTGRES_PASSWORD" not in process_environment(stack, "dev", dict(os.environ))          # render: nothing generated
    assert not (tmp_path / DEV_SECRETS_FILE).exists()
    first = process_environment(stack, "dev", dict(os.environ), create_dev_secrets=True)           # up: generated
    second = process_environment(stack, "dev", dict(os.environ), create_dev_secrets=True)
    assert first["POSTGRES_PASSWORD"] == second["POSTGRES_PASSWORD"] and len(first["JUPYTER_TOKEN"]) >= 32
    path = tmp_path / DEV_SECRETS_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert (tmp_path / ".mlstack" / ".gitignore").read_text().splitlines()[-1] == "*"
    monkeypatch.setenv("JUPYTER_TOKEN", "mine")                                  # the environment wins
    assert process_environment(stack, "dev", dict(os.environ))["JUPYTER_TOKEN"] == "mine"
    # a generated dev value never reaches a prod render
    prod = process_environment(stack, "prod", dict(os.environ), create_dev_secrets=True)
    assert "POSTGRES_PASSWORD" not in prod
    from mlstack.core.pipeline import build

    text = build(stack, "prod", prod).text()
    assert first["POSTGRES_PASSWORD"] not in text and first["JUPYTER_TOKEN"] not in text


def test_dev_render_of_the_stack_uses_the_generated_values(tmp_path, monkeypatch):
    for variable in ("POSTGRES_PASSWORD", "JUPYTER_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    stack = load_stack(None, tmp_path)
    env = process_environment(stack, "dev", dict(os.environ), create_dev_secrets=True)
    from mlstack.core.pipeline import build

    model = yaml.safe_load(build(stack, "dev", env).text())
    assert model["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == env["POSTGRES_PASSWORD"]
    assert model["services"]["mlflow"]["environment"]["PGPASSWORD"] == env["POSTGRES_PASSWORD"]


def test_a_value_that_interpolates_a_required_secret_is_warned_about(tmp_path):
    stack = "name: h\nfragments: [postgres, ./app.yaml]\n"
    app = ('services:\n  app:\n    image: app:1.0\n    environment:\n'
           '      DATABASE_URL: "postgresql://u:${POSTGRES_PASSWORD}@postgres/db"\n')
    prod = rendered(tmp_path, "prod", stack, {"app.yaml": app})
    assert [str(d) for d in prod.warnings] == [
        "app.yaml:5:21: services.app.environment.DATABASE_URL: warning: ${POSTGRES_PASSWORD} is the source of secret "
        "'pg_password', which this profile never interpolates (the value was rendered without it): read "
        "/run/secrets/pg_password instead; add this service to secrets.pg_password.services with the *_FILE "
        "variable its image reads"]
    assert "canary" not in prod.text()
    assert rendered(tmp_path, "dev", stack, {"app.yaml": app}).warnings == []


def test_a_secret_no_service_reads_asks_for_nothing(tmp_path):
    prod = rendered(tmp_path, "prod", "name: r\nfragments: [redis]\n", env={})
    assert prod.warnings == []
