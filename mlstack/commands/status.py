"""`mlstack status` (alias `ps`): service, state, health and URL of the running stack.

Fast on purpose (target: under 300 ms for six services): it reads the file `up` wrote instead of
rendering the stack again, and asks Compose once (`ps --format json`), without the Docker SDK.
"""

from __future__ import annotations

import os

from mlstack.commands import running, seed, urls
from mlstack.commands.health import parse_ps
from mlstack.engine import compose
from mlstack.report import Result

PS_TIMEOUT_S = 60  # `ps` answers in well under a second; an engine that stops answering must not hang us


def run(stack_file: str | None, profile: str) -> Result:
    project = running.existing(stack_file, profile)
    containers = parse_ps(compose.run(compose.ps(project.target), timeout=PS_TIMEOUT_S).stdout)
    rows = urls.table(project.document, containers, project.services, os.environ)
    seeded = seed.status_rows(stack_file, profile, project)   # [] (and no Docker SDK) unless mlstack.yaml declares seeds
    text = urls.format_table(rows) + ("\n\n" + seed.format_status(seeded) if seeded else "")
    return Result(text=text, data={"project": project.name, "file": str(project.path), "services": rows,
                                   "volumes": seeded})
