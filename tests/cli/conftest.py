import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def mlstack(tmp_path):
    """Run `python -m mlstack ARGS` in a directory (default: an empty temp dir), environment clean."""

    def run(*args: str, cwd: Path | None = None, env: dict | None = None) -> Run:
        environment = {key: value for key, value in os.environ.items()
                       if not key.endswith(("_PASSWORD", "_TOKEN")) and not key.endswith("_PORT")}
        environment["PYTHONPATH"] = str(REPOSITORY)  # this checkout's mlstack, not an installed copy
        environment.update(env or {})
        done = subprocess.run([sys.executable, "-m", "mlstack", *args], cwd=cwd or tmp_path, env=environment,
                              capture_output=True, text=True, timeout=120)
        return Run(done.returncode, done.stdout, done.stderr)

    return run


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory
