"""The seeding helper's script (seed.sh, next to this file: shellcheck reads it in the tests), its
exit codes and the places it finds the volume, the source and its settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path as FsPath

FOREIGN, CONFLICT, INCOMPLETE = 17, 18, 19
VOLUME_MOUNT = "/mlstack-volume"
SOURCE_MOUNT = "/mlstack-source"
CONTROL_DIR = "/mlstack"
SCRIPT_FILE = FsPath(__file__).with_name("seed.sh")


@lru_cache(maxsize=None)
def script() -> bytes:
    return SCRIPT_FILE.read_bytes()
