"""`mlstack lint` and lint in `mlstack validate`: exit codes, formats, -o, --strict, tuning errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from mlstack import cli
from mlstack.commands import lint as command
from tests.cli.conftest import write

REPO = Path(__file__).resolve().parents[2]
BAD = REPO / "tests" / "lint_examples" / "bad"
SARIF_SCHEMA = json.loads((REPO / "tests" / "sarif" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
WARNINGS_ONLY = {
    "mlstack.yaml": "name: team\nfragments: [stacks/web.yaml]\n",
    "stacks/web.yaml": (
        "services:\n"
        "  web:\n"
        "    image: nginx:1.27@sha256:0123\n"
        "    user: \"101\"\n"
        "    mem_limit: 1g\n"
        "    ports: [\"8080:80\"]\n"
        "    healthcheck: {test: [CMD, 'true']}\n"),
    "overrides/dev.yaml": "services: {}\n",
    "overrides/prod.yaml": "services: {}\n",
}


@pytest.mark.parametrize("profile, summary", [
    ("dev", "0 errors, 0 warnings, 0 info, 2 silenced in profile dev"),
    ("prod", "0 errors, 0 warnings, 4 info, 3 silenced in profile prod"),
])
def test_the_default_stack_passes_in_both_profiles(mlstack, profile, summary):
    run = mlstack("lint", "--profile", profile)
    assert run.code == 0, run.out + run.err
    assert run.out.splitlines()[-1] == summary
    assert not any(": error: " in line or ": warning: " in line for line in run.out.splitlines())


def test_prod_needs_no_secret_values_to_be_linted(mlstack):
    run = mlstack("lint", "--profile", "prod")
    assert run.code == 0, run.out + run.err
    assert "placeholders" not in run.out


def test_unset_required_variables_are_linted_with_placeholders(mlstack, tmp_path):
    write(tmp_path, {"mlstack.yaml": "name: t\nfragments: [./app.yaml]\nprofiles: {bare: {overrides: []}}\n",
                     "app.yaml": "services:\n  app:\n    image: app:1.2\n    user: '1000'\n"
                                 "    environment: {URL: '${API_URL:?set API_URL}'}\n"})
    run = mlstack("lint", "--profile", "bare")
    assert "note: profile bare: linted with placeholders for unset required variables API_URL" in run.out


def test_a_bad_stack_fails_with_sarif_that_validates(mlstack):
    run = mlstack("lint", "--profile", "prod", "--format", "sarif", cwd=BAD)
    assert run.code == 1, run.err
    log = json.loads(run.out)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    located = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"], r["ruleId"]) for r in log["runs"][0]["results"]}
    assert ("tests/lint_examples/bad/overrides/prod.yaml", 13, "MLS014") in located


def test_json_lists_findings_with_their_profiles(mlstack):
    run = mlstack("lint", "--format", "json", cwd=BAD)
    report = json.loads(run.out)
    assert run.code == 1
    assert report["profiles"] == ["dev", "prod"]
    assert report["counts"] == {"error": 18, "warning": 15, "info": 1, "silenced": 0}
    privileged = [f for f in report["findings"] if f["path"] == "services.trainer.privileged"]
    assert privileged == [{"file": "stacks/ml.yaml", "line": 12, "column": 17, "path": "services.trainer.privileged",
                           "rule": "MLS008", "severity": "error", "profile": "dev,prod", "silenced": "", "silenced_in": "",
                           "message": "privileged: true gives the container every device and capability of the host; "
                                      "add the one capability it needs"}]


def test_warnings_fail_only_with_strict(mlstack, tmp_path):
    write(tmp_path, WARNINGS_ONLY)
    plain, strict = mlstack("lint"), mlstack("lint", "--strict")
    assert plain.code == 0 and strict.code == 1, plain.out + strict.out
    assert plain.out.splitlines()[0] == ("stacks/web.yaml:6:13: services.web.ports[0]: warning: MLS004 host port 8080 is "
                                         "published on all interfaces; set host_ip: 127.0.0.1 unless other machines "
                                         "need it [dev,prod]")


def test_a_silenced_rule_shows_its_reason_and_passes(mlstack, tmp_path):
    write(tmp_path, {**WARNINGS_ONLY, "mlstack.yaml": WARNINGS_ONLY["mlstack.yaml"] +
                     "lint:\n  ignore: {MLS004: \"the office network reaches it\"}\n"})
    run = mlstack("lint", "--strict")
    assert run.code == 0, run.out
    assert run.out.splitlines()[0].startswith(
        "stacks/web.yaml:6:13: services.web.ports[0]: silenced MLS004 (the office network reaches it): host port 8080")


def test_a_profile_raises_a_rule(mlstack, tmp_path):
    write(tmp_path, {**WARNINGS_ONLY, "mlstack.yaml": WARNINGS_ONLY["mlstack.yaml"] +
                     "profiles:\n  prod:\n    overrides: [prod]\n    lint: {severity: {MLS004: error}}\n"})
    assert mlstack("lint", "--profile", "dev").code == 0
    run = mlstack("lint", "--profile", "prod")
    assert run.code == 1
    assert ": error: MLS004 host port 8080" in run.out


def test_out_writes_the_report_atomically(mlstack, tmp_path):
    target = tmp_path / "reports" / "mlstack.sarif"
    target.parent.mkdir()
    target.write_text("old")
    run = mlstack("lint", "--format", "sarif", "-o", str(target), cwd=BAD)
    assert run.code == 1
    assert run.out == f"18 errors, 15 warnings, 1 info, 0 silenced in profiles dev, prod; wrote {target}\n"
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(json.loads(target.read_text()))
    assert [path.name for path in target.parent.iterdir()] == ["mlstack.sarif"]   # no temporary file left


@pytest.mark.parametrize("args, message", [
    (["lint", "--format", "xml"], "Error: Invalid value for '--format': 'xml' is not one of 'text', 'json', 'sarif'."),
    (["lint", "--profile", "dev", "--all-profiles"], "mlstack: --profile and --all-profiles exclude each other"),
    (["lint", "--profile", "staging"], "mlstack: unknown profile 'staging'; this stack defines: dev, prod"),
])
def test_usage_errors(mlstack, args, message):
    run = mlstack(*args)
    assert run.code == 2
    assert run.err.strip().splitlines()[-1] == message


def test_the_format_choices_are_the_commands():
    assert tuple(choice.value for choice in cli.LintFormat) == command.FORMATS


def test_tuning_errors_are_located(mlstack, tmp_path):
    write(tmp_path, {"mlstack.yaml": "name: s\nlint:\n  ignore:\n    MLS004: \"\"\n    MLS9: x\n"
                                     "  severity: {MLS001: fatal}\n"})
    run = mlstack("lint")
    assert run.code == 1
    assert run.err.splitlines() == ["mlstack.yaml:4:13: lint.ignore.MLS004: must not be empty",
                                    'mlstack.yaml:5:11: lint.ignore: invalid key "MLS9": keys must match ^MLS[0-9]{3}$',
                                    'mlstack.yaml:6:22: lint.severity.MLS001: "fatal" is not one of: off, info, '
                                    'warning, error']


def test_validate_fails_on_lint_errors_and_shows_warnings(mlstack, tmp_path):
    bad = mlstack("validate", "--profile", "dev", cwd=BAD)
    assert bad.code == 1
    assert ("stacks/data.yaml:11:9: services.db.ports[0]: MLS009 host port 5432 of data service db is published on all "
            "interfaces, for anyone on the network to read and write; publish it on 127.0.0.1, or not at all") in bad.err
    assert "stacks/ml.yaml:24:9: services.notebook.ports[0]: warning: MLS004 host port 8888" in bad.err
    write(tmp_path, WARNINGS_ONLY)
    good = mlstack("validate")
    assert good.code == 0, good.err
    assert "warning: MLS004 host port 8080" in good.err
    assert good.out.splitlines() == ["profile dev: ok (1 services)", "profile prod: ok (1 services)"]


def test_validate_of_the_default_stack_passes(mlstack):
    run = mlstack("validate", env={"POSTGRES_PASSWORD": "s3cret", "JUPYTER_TOKEN": "tok"})
    assert run.code == 0, run.err
    assert run.err == ""


def test_a_stack_elsewhere_is_reported_relative_to_its_directory(mlstack, tmp_path):
    shutil.copytree(BAD, tmp_path / "deploy")
    run = mlstack("lint", "-f", "deploy/mlstack.yaml", "--profile", "dev")
    assert run.code == 1
    assert "stacks/data.yaml:13:13: services.db.healthcheck.test: error: MLS018" in run.out


def test_validate_check_secrets_reports_lint_errors_too(mlstack, tmp_path):
    write(tmp_path, {"mlstack.yaml": "name: t\nfragments: [postgres, ./web.yaml]\n",
                     "web.yaml": "services:\n  web:\n    image: nginx:latest\n"})
    run = mlstack("validate", "--profile", "prod", "--check-secrets")
    assert run.code == 1
    assert "POSTGRES_PASSWORD" in run.err and "MLS001" in run.err, run.err
