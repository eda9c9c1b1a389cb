"""`mlstack seed [VOLUME...]`: fill named volumes (model caches); the work is in lifecycle/seeder.py."""

from __future__ import annotations

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms)
if TYPE_CHECKING:
    from typing import Mapping

from mlstack.core import seed_decision
from mlstack.errors import ExitCode, UsageError
from mlstack.lifecycle import running
from mlstack.lifecycle.seeder import SeedOptions, seed_project
from mlstack.report import Result

__all__ = ["SeedOptions", "run"]


def run(options: SeedOptions, env: Mapping[str, str]) -> Result:
    if options.method not in seed_decision.METHODS:
        raise UsageError(f"unknown --method {options.method!r}: use auto, bind or archive")
    project = running.render(options.stack_file, options.profile, env)
    outcomes = seed_project(project, options)
    if outcomes is None:
        return Result(text="no volume to seed: declare one under volumes.NAME.seed in mlstack.yaml (docs/seeding.md)",
                      data={"project": project.name, "volumes": []})
    refused = any(outcome.action == seed_decision.REFUSE for outcome in outcomes)   # only a dry run gets here
    return Result(text="\n".join(outcome.line() for outcome in outcomes),
                  data={"project": project.name, "volumes": [outcome.__dict__ for outcome in outcomes]},
                  exit_code=int(ExitCode.SEED) if refused else 0)
