"""What the lint command does around the pure core: reading build contexts, placeholders for
required variables, one finding per place across profiles."""

from __future__ import annotations

import pytest

from mlstack.commands import lint as command
from mlstack.lifecycle import linting
from mlstack.core.lint_model import BuildContext, Finding
from mlstack.core.stack import PACKAGE_DIR
from mlstack.errors import UsageError


def context(tmp_path, files: dict[str, str], dockerfile: str = "Dockerfile") -> BuildContext:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return linting.read_context("./app", tmp_path, tmp_path / dockerfile)


@pytest.mark.parametrize("files, dockerfile, expected", [
    ({"Dockerfile": "FROM python:3.12-slim\nUSER 1000:1000\n"}, "Dockerfile",
     BuildContext("./app", None, "1000:1000", "python:3.12-slim")),
    ({"Dockerfile": "FROM --platform=$BUILDPLATFORM golang:1.23 AS build\nUSER app\nFROM debian:12-slim\n",
      ".dockerignore": ".git\n.env\n"}, "Dockerfile",
     BuildContext("./app", (".git", ".env"), None, "debian:12-slim")),   # USER is per stage
    ({"gpu.Dockerfile": "from nvidia/cuda:12.6.2-runtime-ubuntu24.04\nuser 1000\n", "gpu.Dockerfile.dockerignore": "*\n",
      ".dockerignore": ".git\n"}, "gpu.Dockerfile",
     BuildContext("./app", ("*",), "1000", "nvidia/cuda:12.6.2-runtime-ubuntu24.04")),   # the Dockerfile's own wins
    ({}, "Dockerfile", BuildContext("./app", None, None, "")),
])
def test_a_build_context_is_read_as_docker_reads_it(tmp_path, files, dockerfile, expected):
    assert context(tmp_path, files, dockerfile) == expected


def test_shipped_templates_stand_in_for_their_copy(tmp_path):
    assert linting.context_directory(tmp_path, "./.mlstack/templates/api") == PACKAGE_DIR / "templates" / "api"
    assert linting.context_directory(tmp_path, "./api") == tmp_path / "api"


def finding(profile: str, severity: str = "warning", silenced: str = "") -> Finding:
    return Finding("stacks/a.yaml", 3, 5, "services.a", "MLS002", severity, "no healthcheck", profile, silenced)


def test_a_finding_shared_by_profiles_is_reported_once():
    merged = linting.merge_profiles([finding("dev"), finding("prod", "error"), finding("staging", "error"),
                                     finding("dev", silenced="why"), finding("prod", "error", silenced="why")])
    assert merged == sorted([finding("dev"), finding("prod,staging", "error"), finding("dev,prod", "error", silenced="why")])


def test_profile_and_all_profiles_exclude_each_other():
    with pytest.raises(UsageError, match="--profile and --all-profiles exclude each other"):
        command.run(command.LintOptions(profile="dev", all_profiles=True), {})


def test_required_variables_get_placeholders_only_when_unset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlstack.yaml").write_text("name: t\nfragments: [./app.yaml]\nprofiles: {bare: {overrides: []}}\n")
    (tmp_path / "app.yaml").write_text("services:\n  app:\n    image: app:1\n    environment:\n"
                                       "      URL: ${API_URL:?set API_URL}\n      KEY: ${API_KEY:?set API_KEY}\n")
    stack = command.open_stack(None, {})
    rendered, placeholders = linting.build_for_lint(stack, "bare", {"API_KEY": "key"})
    assert placeholders == {"API_URL"}
    assert rendered.env["API_URL"] == linting.PLACEHOLDER and rendered.env["API_KEY"] == "key"
