"""`mlstack render`: the spec, read as cases."""

import hashlib
import json

import yaml

from tests.cli.conftest import write

PROD_ENV = {"POSTGRES_PASSWORD": "s3cret", "JUPYTER_TOKEN": "tok", "MLFLOW_TRACKING_PASSWORD": "x"}


def body(text: str) -> str:
    return "".join(line + "\n" for line in text.splitlines() if not line.startswith("#"))


def test_default_stack_renders_dev_in_an_empty_directory(mlstack, tmp_path):
    run = mlstack("render", "--profile", "dev")
    assert run.code == 0, run.err
    model = yaml.safe_load(run.out)
    assert set(model["services"]) == {"api", "qdrant", "redis", "postgres", "mlflow", "jupyter"}
    assert model["name"] == "mlstack-dev"
    assert run.out.startswith("# Rendered by mlstack: stack mlstack, profile dev.")


def test_render_is_deterministic_and_its_header_hashes_the_body(mlstack):
    first, second = mlstack("render", "--profile", "dev"), mlstack("render", "--profile", "dev")
    assert first.out == second.out
    digest = [line for line in first.out.splitlines() if line.startswith("# content sha256: ")][0].split(": ")[1]
    assert hashlib.sha256(body(first.out).encode()).hexdigest()[:16] == digest


def test_json_format(mlstack):
    run = mlstack("render", "--profile", "dev", "--format", "json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["name"] == "mlstack-dev"


def test_prod_renders_without_its_secrets_and_lists_what_the_deploy_host_provides(mlstack):
    run = mlstack("render", "--profile", "prod")
    assert run.code == 0, run.err
    assert run.err.splitlines()[-3:] == [
        "the deploy host must provide:",
        "  secret jupyter_token (read by jupyter): environment variable JUPYTER_TOKEN when `docker compose up` runs",
        "  secret pg_password (read by mlflow, postgres): environment variable POSTGRES_PASSWORD when `docker compose up` runs",
    ]
    assert yaml.safe_load(run.out)["secrets"] == {"jupyter_token": {"environment": "JUPYTER_TOKEN"},
                                                  "pg_password": {"environment": "POSTGRES_PASSWORD"}}


def test_prod_renders_with_its_secrets(mlstack):
    run = mlstack("render", "--profile", "prod", env=PROD_ENV)
    assert run.code == 0, run.err
    model = yaml.safe_load(run.out)
    assert "ports" not in model["services"]["postgres"]


def test_out_is_written_atomically_and_left_untouched_on_error(mlstack, tmp_path):
    out = tmp_path / "deploy" / "compose.yaml"
    assert mlstack("render", "--profile", "dev", "-o", str(out)).code == 0
    before = out.read_text()
    write(tmp_path, {"mlstack.yaml": "name: broken\nfragments: [./missing.yaml]\n"})
    run = mlstack("render", "--profile", "prod", "-o", str(out))
    assert run.code == 1
    assert out.read_text() == before
    assert [p.name for p in out.parent.iterdir()] == ["compose.yaml"]


def test_unknown_profile_is_a_usage_error(mlstack):
    run = mlstack("render", "--profile", "staging")
    assert run.code == 2
    assert run.err.strip() == "mlstack: unknown profile 'staging'; this stack defines: dev, prod"


def test_stack_mixing_builtin_and_local_fragments(mlstack, tmp_path):
    write(tmp_path, {
        "mlstack.yaml": "name: team\nfragments: [redis, ./stacks/trainer.yaml]\n",
        "stacks/trainer.yaml": (
            "services:\n  trainer:\n    image: python:3.11.10-slim\n    depends_on: [redis]\n"
            "    volumes: ['./data:/data:ro']\n    healthcheck: {test: [CMD, 'true']}\n"
        ),
    })
    run = mlstack("render", "--profile", "dev")
    assert run.code == 0, run.err
    model = yaml.safe_load(run.out)
    assert set(model["services"]) == {"redis", "trainer"}
    assert model["name"] == "team-dev"
    assert model["services"]["trainer"]["volumes"][0]["source"] == "./data"


def test_paths_are_rebased_to_where_the_file_is_written(mlstack, tmp_path):
    write(tmp_path, {
        "mlstack.yaml": "name: team\nfragments: [./stacks/trainer.yaml]\nprofiles: {bare: {overrides: []}}\n",
        "stacks/trainer.yaml": "services:\n  trainer:\n    image: busybox:1.36\n    volumes: ['./data:/data']\n",
    })
    assert mlstack("render", "--profile", "bare", "-o", ".mlstack/bare/compose.yaml").code == 0
    model = yaml.safe_load((tmp_path / ".mlstack/bare/compose.yaml").read_text())
    assert model["services"]["trainer"]["volumes"][0]["source"] == "../../data"


def test_local_fragment_shadows_the_builtin(mlstack, tmp_path):
    write(tmp_path, {
        "mlstack.yaml": "name: team\nfragments: [redis]\nprofiles: {bare: {overrides: []}}\n",
        "stacks/redis.yaml": "services:\n  redis:\n    image: redis:7.2.5\n",
    })
    run = mlstack("render", "--profile", "bare")
    assert run.code == 0, run.err
    assert yaml.safe_load(run.out)["services"]["redis"]["image"] == "redis:7.2.5"
    assert "# source: stacks/redis.yaml" in run.out


def test_render_holds_no_machine_paths_and_ships_its_build_contexts(mlstack, tmp_path):
    first = mlstack("render", "--profile", "dev", cwd=tmp_path)
    other = tmp_path / "elsewhere" / "deeper"
    other.mkdir(parents=True)
    second = mlstack("render", "--profile", "dev", cwd=other)
    assert first.code == second.code == 0
    assert first.out == second.out
    assert str(tmp_path) not in first.out and "site-packages" not in first.out
    model = yaml.safe_load(first.out)
    assert model["services"]["api"]["build"]["context"] == "./.mlstack/templates/api"
    assert (tmp_path / ".mlstack/templates/api/Dockerfile").is_file()
    assert (tmp_path / ".mlstack/templates/mlflow/Dockerfile").is_file()


VARIANTS = {
    "mlstack.yaml": "name: team\nfragments: [./stacks/model.yaml]\nprofiles: {bare: {overrides: []}}\n",
    "stacks/model.yaml": (
        "services:\n"
        "  model-cpu: {image: 'model:cpu', profiles: [cpu], ports: ['9000:9000'], secrets: [token]}\n"
        "  model-cuda: {image: 'model:cuda', profiles: [cuda], ports: ['9000:9000']}\n"
        "  notebook: {profiles: [notebook], env_file: ./missing.env}\n"
        "secrets:\n  token: {environment: MODEL_TOKEN}\n"
    ),
    ".env": "COMPOSE_PROFILES=cuda\n",
}


def test_compose_profile_variants_share_a_port_and_an_unset_secret_variable_is_a_warning(mlstack, tmp_path):
    write(tmp_path, VARIANTS)
    run = mlstack("render", "--profile", "bare")
    assert run.code == 0, run.err
    assert set(yaml.safe_load(run.out)["services"]) == {"model-cpu", "model-cuda", "notebook"}
    assert "secret 'token' is read from $MODEL_TOKEN, which is not set" in run.err


def test_a_k8s_render_into_a_directory_keeps_the_other_targets_files(mlstack, tmp_path):
    assert mlstack("render", "--profile", "prod", "-o", "deploy/compose.yaml").code == 0
    assert mlstack("render", "--profile", "prod", "--target", "swarm", "-o", "deploy/stack.yaml").code == 0
    first = mlstack("render", "--profile", "prod", "--target", "k8s", "-o", "deploy")
    assert first.code == 0, first.err
    manifests = sorted(path.name for path in (tmp_path / "deploy").glob("*.yaml"))
    again = mlstack("render", "--profile", "dev", "--target", "k8s", "-o", "deploy")
    assert again.code == 0, again.err
    assert (tmp_path / "deploy" / "compose.yaml").is_file() and (tmp_path / "deploy" / "stack.yaml").is_file()
    assert "compose.yaml" in manifests and "stack.yaml" in manifests
