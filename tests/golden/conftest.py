"""Golden tests: the differential suite runs the real `docker compose` binary (no engine needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the harness module beside the tests

from compose_diff import COMPOSE  # noqa: E402


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="docker-compose is not on PATH")
    for item in items:
        if "compose" in item.keywords and COMPOSE is None:
            item.add_marker(skip)
