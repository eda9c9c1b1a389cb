"""explain, diff, services, validate: reading a stack without running it."""

import json

from tests.cli.conftest import write

OVERRIDE_STACK = {
    "mlstack.yaml": (
        "name: team\nfragments: [./base.yaml]\n"
        "profiles:\n  dev: {overrides: [./dev.yaml]}\n  prod: {overrides: [./prod.yaml]}\n"
        "  staging: {extends: prod, overrides: [./staging.yaml]}\n"
    ),
    "base.yaml": (
        "services:\n  web:\n    image: web:1.0\n    environment:\n      LOG_LEVEL: info\n"
        "    ports: ['127.0.0.1:8000:8000']\n    command: [serve]\n    healthcheck: {test: [CMD, 'true']}\n"
        "    user: '1000'\n"   # validate runs lint: root in prod is an error (MLS007)
    ),
    "dev.yaml": "services:\n  web:\n    environment: [LOG_LEVEL=debug]\n    command: !reset null\n",
    "prod.yaml": "services:\n  web:\n    image: web:1.1\n    deploy: {replicas: 3}\n",
    "staging.yaml": "services:\n  web:\n    deploy: {replicas: 1}\n",
}


def test_explain_names_file_line_profile_and_rule(mlstack, tmp_path):
    write(tmp_path, OVERRIDE_STACK)
    run = mlstack("explain", "web.environment.LOG_LEVEL", "--profile", "dev")
    assert run.code == 0, run.err
    assert run.out.split() == ["services.web.environment.LOG_LEVEL", "=", "debug", "replaced", "dev.yaml:3:19", "[profile", "dev]"]


def test_explain_shows_reset_values(mlstack, tmp_path):
    write(tmp_path, OVERRIDE_STACK)
    run = mlstack("explain", "web.command", "--profile", "dev", "--json")
    assert run.code == 0, run.err
    rows = json.loads(run.out)["values"]
    assert rows == [{"path": "services.web.command", "value": "<removed>", "file": "dev.yaml", "line": 4, "column": 14,
                     "profile": "dev", "rule": "reset"}]


def test_explain_follows_profile_extends(mlstack, tmp_path):
    write(tmp_path, OVERRIDE_STACK)
    run = mlstack("explain", "web.deploy.replicas", "--profile", "staging", "--json")
    row = json.loads(run.out)["values"][0]
    assert (row["value"], row["file"], row["profile"], row["rule"]) == (1, "staging.yaml", "staging", "replaced")
    image = json.loads(mlstack("explain", "web.image", "--profile", "staging", "--json").out)["values"][0]
    assert (image["value"], image["file"], image["profile"]) == ("web:1.1", "prod.yaml", "staging")


def test_explain_unknown_path_is_a_usage_error(mlstack, tmp_path):
    write(tmp_path, OVERRIDE_STACK)
    run = mlstack("explain", "nosuch.image")
    assert run.code == 2
    assert run.err.strip() == "mlstack: nothing at 'nosuch.image' in profile 'dev' (services: web)"


def test_diff_of_two_profiles(mlstack, tmp_path):
    write(tmp_path, OVERRIDE_STACK)
    run = mlstack("diff", "dev", "prod")
    assert run.code == 0, run.err
    assert "-name: team-dev\n+name: team-prod\n" in run.out
    assert "-    image: web:1.0\n+    image: web:1.1\n" in run.out
    assert "-      LOG_LEVEL: debug\n+      LOG_LEVEL: info\n" in run.out


def test_services_lists_catalog_and_marks_shadowing(mlstack, tmp_path):
    write(tmp_path, {"mlstack.yaml": "name: t\nfragments: [redis]\n",
                     "stacks/redis.yaml": "x-mlstack: {description: team redis}\nservices:\n  redis: {image: 'redis:7.2.5'}\n"})
    run = mlstack("services")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert any(line.startswith("* redis") and "team redis" in line and "shadows built-in" in line for line in lines)
    assert any(line.startswith("  jupyter") for line in lines)


def test_validate_reports_every_profile(mlstack, tmp_path):
    write(tmp_path, OVERRIDE_STACK)
    run = mlstack("validate")
    assert run.code == 0, run.err
    assert run.out.splitlines() == ["profile dev: ok (1 services)", "profile prod: ok (1 services)", "profile staging: ok (1 services)"]


def test_validate_reports_all_problems_at_once(mlstack, tmp_path):
    write(tmp_path, {
        "mlstack.yaml": "name: t\nfragments: [./a.yaml]\nprofiles: {bare: {overrides: []}}\n",
        "a.yaml": (
            "services:\n  web:\n    image: web:1\n    depends_on: [db]\n    ports: ['8080:80']\n"
            "  api:\n    image: api:1\n    ports: ['8080:81']\n    volumes: ['cache:/cache']\n"
        ),
    })
    run = mlstack("validate", "--profile", "bare")
    assert run.code == 1
    errors = [line for line in run.err.splitlines() if "warning:" not in line]
    assert len(errors) >= 3, run.err
    assert all(line.startswith("a.yaml:") for line in errors), run.err
