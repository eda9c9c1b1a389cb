"""`mlstack up`: start the stack (lifecycle/start.py) and show the status table (ports, URLs)."""

from __future__ import annotations


from mlstack.errors import UsageError
from mlstack.lifecycle.start import UpOptions, start
from mlstack.lifecycle.status_table import format_table
from mlstack.report import Result

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Mapping

__all__ = ["UpOptions", "run"]


def run(options: UpOptions, env: Mapping[str, str]) -> Result:
    from mlstack.core.gpu import POLICIES

    if options.gpu is not None and options.gpu not in POLICIES:
        raise UsageError(f"unknown --gpu {options.gpu!r}: use auto, required or off")
    project, rows = start(options, env)
    return Result(text=format_table(rows), data={"project": project.name, "file": str(project.path), "services": rows})
