"""Secrets on the command line: render needs none; up, seed and validate --check-secrets refuse early."""

import pytest

from tests.cli.conftest import write

MISSING = [
    "mlstack:stacks/jupyter.yaml:30:7: secrets.jupyter_token: secret 'jupyter_token' (read by jupyter) is read from "
    "$JUPYTER_TOKEN, which is not set: export JUPYTER_TOKEN=... (or set secrets.jupyter_token.file in mlstack.yaml)",
    "mlstack:stacks/postgres.yaml:17:7: secrets.pg_password: secret 'pg_password' (read by mlflow, postgres) is read "
    "from $POSTGRES_PASSWORD, which is not set: export POSTGRES_PASSWORD=... (or set secrets.pg_password.file in mlstack.yaml)",
]
NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
DEFAULT_STACK = "mlstack: no mlstack.yaml here; using the built-in default stack (`mlstack init` creates one)"


def errors(run) -> list[str]:
    return [line for line in run.err.splitlines() if "warning:" not in line]


def test_up_prod_refuses_before_starting_anything_naming_every_missing_secret(mlstack, tmp_path):
    run = mlstack("up", "--profile", "prod", env=NO_ENGINE)
    assert run.code == 1
    assert errors(run) == [DEFAULT_STACK] + MISSING + [
        "hint: nothing was started; provide them on this host (docs/deploy.md#secrets)"]
    assert not (tmp_path / ".mlstack" / "prod").exists()


def test_seed_prod_refuses_too(mlstack):
    run = mlstack("seed", "--profile", "prod", env=NO_ENGINE)
    assert run.code == 1
    assert errors(run)[:3] == [DEFAULT_STACK] + MISSING


def test_validate_check_secrets(mlstack, tmp_path):
    assert mlstack("validate", "--profile", "prod").code == 0
    run = mlstack("validate", "--profile", "prod", "--check-secrets")
    assert run.code == 1
    assert errors(run) == MISSING
    run = mlstack("validate", "--profile", "prod", "--check-secrets", env={"POSTGRES_PASSWORD": "a", "JUPYTER_TOKEN": "b"})
    assert run.code == 0, run.err


def test_a_secret_in_dot_env_counts_as_provided(mlstack, tmp_path):
    write(tmp_path, {".env": "POSTGRES_PASSWORD=from-dotenv\nJUPYTER_TOKEN=from-dotenv\n"})
    run = mlstack("validate", "--profile", "prod", "--check-secrets")
    assert run.code == 0, run.err


def test_render_all_targets_with_no_secret_set(mlstack, tmp_path):
    for target in ("compose", "swarm", "k8s"):
        run = mlstack("render", "--profile", "prod", "--target", target, "-o", str(tmp_path / f"out-{target}"))
        assert run.code == 0, run.err
        assert "the deploy host must provide:" in run.err
    assert (tmp_path / "out-k8s" / "kustomization.yaml").is_file()


@pytest.mark.compose
def test_doctor_names_every_missing_secret(mlstack, tmp_path):
    from tests import needs
    from tests.fakes.engine import FakeEngine

    with FakeEngine(tmp_path, "ok") as engine:
        run = mlstack("doctor", "--profile", "prod", env={"DOCKER_HOST": engine.url, "MLSTACK_COMPOSE": " ".join(needs.compose_argv()),
                                                          "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert run.code == 4, run.out + run.err
    lines = run.out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("secrets:"))
    assert lines[start:start + 3] == ["secrets: profile prod reads 2, 2 missing:"] + [f"  {line}" for line in MISSING]


def test_diff_dev_prod_needs_no_secret(mlstack):
    run = mlstack("diff", "dev", "prod")
    assert run.code == 0, run.err
    assert "+      POSTGRES_PASSWORD_FILE: /run/secrets/pg_password" in run.out


def test_k8s_to_standard_output_is_one_stream_of_every_object(mlstack):
    import yaml

    run = mlstack("render", "--profile", "prod", "--target", "k8s")
    assert run.code == 0, run.err
    kinds = [item["kind"] for item in yaml.safe_load_all(run.out)]
    assert sorted(set(kinds)) == ["Deployment", "PersistentVolumeClaim", "Service", "StatefulSet"] and len(kinds) == 15
