"""Golden tests: the differential suite runs the real Docker Compose (`config` only: no engine needed).

The harness finds Compose as mlstack does (tests/needs.py); the tests are marked `compose`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # the harness module beside the tests
