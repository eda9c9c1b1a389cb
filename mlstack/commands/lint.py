"""`mlstack lint`: the rule table over each profile's model; text, JSON or SARIF; exit 1 on errors.

With -o the report is written atomically and a summary printed (lifecycle/linting.py does the work).
"""

from __future__ import annotations

from mlstack.records import record
from pathlib import Path as FsPath

from mlstack.core.lint import failing
from mlstack.core.lint_model import Finding
from mlstack.errors import UsageError
from mlstack.lifecycle.linting import build_for_lint, lint_profile, merge_profiles, render_report, summary
from mlstack.lifecycle.workspace import open_stack, write_atomically
from mlstack.report import Result

FORMATS = ("text", "json", "sarif")


@record(frozen=True)
class LintOptions:
    stack_file: str | None = None
    profile: str | None = None          # None: every profile
    all_profiles: bool = False          # said explicitly; the default anyway
    output_format: str = "text"
    out: str | None = None
    strict: bool = False


def run(options: LintOptions, process_env: dict[str, str]) -> Result:
    if options.output_format not in FORMATS:
        raise UsageError(f"unknown format {options.output_format!r}: use text, json or sarif")
    if options.profile and options.all_profiles:
        raise UsageError("--profile and --all-profiles exclude each other")
    stack = open_stack(options.stack_file, process_env)
    profiles = [options.profile] if options.profile else sorted(stack.profiles)
    findings: list[Finding] = []
    notes: list[str] = []
    for name in profiles:
        rendered, placeholders = build_for_lint(stack, name, process_env)
        if placeholders:
            notes.append(f"profile {name}: linted with placeholders for unset required variables "
                         f"{', '.join(sorted(placeholders))}")
        findings += lint_profile(rendered)
    findings = merge_profiles(findings)
    failed = failing(findings, options.strict)
    report = render_report(findings, options.output_format, stack, profiles, notes)
    exit_code = 1 if failed else 0
    if options.out and options.out != "-":
        target = FsPath(options.out).resolve()
        write_atomically(target, report)
        return Result(text=f"{summary(findings, profiles)}; wrote {options.out}", exit_code=exit_code,
                      data={"written": str(target)})
    return Result(text=report, exit_code=exit_code)
