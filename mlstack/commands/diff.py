"""`mlstack diff A B`: a unified diff of two profiles' renders."""

from __future__ import annotations

import difflib
from typing import Mapping

from mlstack.core.pipeline import build
from mlstack.lifecycle.workspace import open_stack
from mlstack.report import Result


def run(stack_file: str | None, first: str, second: str, *, env: Mapping[str, str]) -> Result:
    stack = open_stack(stack_file, env)
    texts = []
    for name in (first, second):
        text = build(stack, name, dict(env)).text()
        texts.append([line for line in text.splitlines(keepends=True) if not line.startswith("#")])
    diff = "".join(difflib.unified_diff(texts[0], texts[1], fromfile=f"profile {first}", tofile=f"profile {second}"))
    return Result(text=diff or f"profiles {first} and {second} render the same",
                  data={"profiles": [first, second], "same": not diff, "diff": diff})
