"""The seeding helper's script is a shell file that shellcheck reads, shipped with the package."""

from __future__ import annotations

import subprocess

import pytest

from mlstack.engine import helper_job, seed_script


@pytest.mark.shellcheck
def test_shellcheck_finds_nothing():
    done = subprocess.run(["shellcheck", "--shell=sh", "--severity=style", "--format=gcc", str(seed_script.SCRIPT_FILE)],
                          capture_output=True, text=True)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_helper_gets_the_shipped_script(tmp_path):
    script = seed_script.script()
    assert script.startswith(b"#!/bin/sh\n") and b"mlstack-seed-exit" in script
    assert f"die {seed_script.FOREIGN} ".encode() in script and f"die {seed_script.INCOMPLETE} ".encode() in script
    plan = type("Plan", (), {"subpath": "", "owner_text": "", "source": type("Source", (), {"kind": "directory",
                                                                                           "archive_format": ""})()})()
    files = helper_job.control_files(helper_job.HelperJob(plan, "busybox", "abc", copy="check"))
    assert files["seed.sh"] == script
