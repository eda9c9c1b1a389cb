"""What every command needs: find and load the stack, build a profile's model."""

from __future__ import annotations

import os
from pathlib import Path as FsPath

from mlstack.core.pipeline import Rendered, build
from mlstack.core.stack import Stack, find_stack_file, load_stack


def open_stack(stack_file: str | None, cwd: FsPath | None = None) -> Stack:
    cwd = cwd or FsPath.cwd()
    return load_stack(find_stack_file(stack_file, cwd), cwd)


def build_profile(stack_file: str | None, profile: str, gpu: str | None = None) -> Rendered:
    return build(open_stack(stack_file), profile, dict(os.environ), gpu)
