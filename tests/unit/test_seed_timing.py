"""--debug shows where a seed's time goes: `seed: <phase> <ms>`, the host's phases and the helper's."""

from __future__ import annotations

import logging

import pytest

from mlstack.core import seed_marker
from mlstack.engine.seed_timing import SeedTimer


class Clock:
    def __init__(self, *readings: float):
        self.readings = list(readings)

    def __call__(self) -> float:
        return self.readings.pop(0)


def test_host_phases_run_one_after_the_other_and_are_logged(caplog):
    timer = SeedTimer(Clock(10.0, 10.25, 10.5, 11.0, 11.5))
    with caplog.at_level(logging.DEBUG, logger="mlstack"):
        timer.lap("settle")
        timer.lap("fingerprint")
        timer.skip()                 # 10.5 -> 11.0 timed by the helper
        timer.lap("done")
    assert timer.phases == {"settle": 0.25, "fingerprint": 0.25, "done": 0.5}
    assert [record.getMessage() for record in caplog.records] == ["seed: settle 250", "seed: fingerprint 250",
                                                                  "seed: done 500"]


def test_the_helpers_phase_lines_become_durations_and_leave_its_output():
    output = ("mlstack-seed-phase start 100.00\nforeign weights\n"
              "mlstack-seed-phase move 100.50\nmlstack-seed-phase copy 102.25\nmlstack-seed-phase move 102.30\n"
              "mlstack-seed: done\n")
    timer = SeedTimer(Clock(0.0))
    assert timer.helper_phases(output) == "foreign weights\nmlstack-seed: done\n"
    assert timer.phases == pytest.approx({"move": 0.55, "copy": 1.75})


def test_a_helper_without_proc_uptime_reports_zero_rather_than_failing():
    timer = SeedTimer(Clock(0.0))
    assert timer.helper_phases("mlstack-seed-phase start 0\nmlstack-seed-phase copy 0\n") == ""
    assert timer.phases == {"copy": 0.0}


@pytest.mark.parametrize("files, subpath, expected", [
    ({"a.bin": [10, 1], "d/big.bin": [500, 2], "link": ["link", "a.bin"]}, "", "500 d/big.bin"),
    ({"m/x.bin": [7, 1], "m/y.bin": [7, 1], "other.bin": [99, 1]}, "m", "7 x.bin"),   # ties: the first path
    ({"hub/refs/main": ["data", "abc"], "hub/snap/w.bin": [3, 1]}, "hub", "3 snap/w.bin"),
    ({"link": ["link", "target"]}, "", ""),
    ({}, "", ""),
])
def test_the_probe_is_the_largest_regular_file_of_the_copy(files, subpath, expected):
    assert seed_marker.probe(files, subpath) == expected
