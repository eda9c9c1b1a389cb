"""`mlstack status` (alias `ps`): service, state, health, published ports and URL of the running stack.

Fast on purpose (target: under 300 ms for six services): it reads the file `up` wrote instead of
rendering the stack again, and asks Compose once (`ps --format json`), without the Docker SDK.
"""

from __future__ import annotations


from mlstack.engine import compose
from mlstack.lifecycle import dev_secrets, running, seeder, status_table
from mlstack.lifecycle.health import parse_ps
from mlstack.report import Result

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Mapping

PS_TIMEOUT_S = 60  # `ps` answers in well under a second; an engine that stops answering must not hang us


def run(stack_file: str | None, profile: str, *, env: Mapping[str, str]) -> Result:
    project = running.existing(stack_file, profile, env)
    containers = parse_ps(project.run(compose.ps(project.target), timeout=PS_TIMEOUT_S).stdout)
    stack_directory = project.path.parent.parent.parent   # <stack>/.mlstack/<profile>/compose.yaml
    rows = status_table.table(project.document, containers, project.services,
                              {**dev_secrets.generated(stack_directory), **env})   # as `up` showed them
    seeded = seeder.status_rows(stack_file, profile, project)   # [] (and no Docker SDK) unless mlstack.yaml declares seeds
    text = status_table.format_table(rows) + ("\n\n" + status_table.format_volumes(seeded) if seeded else "")
    return Result(text=text, data={"project": project.name, "file": str(project.path), "services": rows,
                                   "volumes": seeded})
