"""The one reader of the process environment: the CLI reads it here and passes it down."""

from __future__ import annotations

import os


def process_env() -> dict[str, str]:
    """The process environment, as a plain dict: no other module reads it."""
    return dict(os.environ)
