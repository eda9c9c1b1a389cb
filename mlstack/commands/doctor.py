"""`mlstack doctor`: check the engine, Compose, GPU, disk and the profile's ports (lifecycle/checks.py)."""

from __future__ import annotations

from typing import Mapping

from mlstack.lifecycle.checks import check
from mlstack.report import Result


def run(stack_file: str | None, profile: str, *, env: Mapping[str, str]) -> Result:
    findings = check(stack_file, profile, env)
    return Result(text="\n".join(findings.lines), data=findings.data, exit_code=findings.exit_code)
