"""NVIDIA_REQUIRE_* as the NVIDIA container CLI evaluates it (libnvidia-container src/cli/dsl.c)."""

from __future__ import annotations

import pytest

from mlstack.core.gpu_require import Facts, InvalidExpression, cuda_floor, evaluate, requirements

GEFORCE_535 = Facts(cuda="12.2", driver="535.183.01", arch="8.9", brand="geforce")
TESLA_470 = Facts(cuda="11.4", driver="470.82.01", arch="7.5", brand="tesla")
CUDA_12_4 = ("cuda>=12.4 brand=tesla,driver>=470,driver<471 brand=geforce,driver>=535,driver<536 "
             "brand=nvidia,driver>=535,driver<536")

# (expression, facts, holds, the alternative that held, the first false clause of each alternative tried)
CASES = [
    # space: alternatives, the first that holds wins
    ("cuda>=12.2", GEFORCE_535, True, "cuda>=12.2", []),
    ("cuda>=12.4", GEFORCE_535, False, "", ["cuda>=12.4"]),
    (CUDA_12_4, GEFORCE_535, True, "brand=geforce,driver>=535,driver<536", ["cuda>=12.4", "brand=tesla"]),
    (CUDA_12_4, TESLA_470, True, "brand=tesla,driver>=470,driver<471", ["cuda>=12.4"]),
    (CUDA_12_4, Facts("12.3", "545.23.08", "8.9", "geforce"), False, "",
     ["cuda>=12.4", "brand=tesla", "driver<536", "brand=nvidia"]),
    # comma: clauses, all must hold; the first false one ends the alternative
    ("driver>=470,driver<471", TESLA_470, True, "driver>=470,driver<471", []),
    ("arch>=8.0,brand=GeForce", GEFORCE_535, True, "arch>=8.0,brand=GeForce", []),      # brand: any case
    ("arch>=9.0", GEFORCE_535, False, "", ["arch>=9.0"]),
    # names in any case, versions number by number, trailing .0 ignored
    ("CUDA>=12.2.0", GEFORCE_535, True, "CUDA>=12.2.0", []),
    ("driver>535.183", GEFORCE_535, True, "driver>535.183", []),
    ("driver=535.183.1", GEFORCE_535, True, "driver=535.183.1", []),
    ("brand!=tesla", GEFORCE_535, True, "brand!=tesla", []),
    # empty alternatives and clauses (two spaces, a trailing comma) are skipped
    ("cuda>=13.0  cuda>=12.0,", GEFORCE_535, True, "cuda>=12.0,", ["cuda>=13.0"]),
    ("", GEFORCE_535, True, "", []),
    # a fact mlstack could not learn never counts as false
    ("brand=tesla", Facts("12.2", "535.183.01"), None, "", []),
    ("brand=tesla cuda>=12.0", Facts("12.2", "535.183.01"), True, "cuda>=12.0", []),
]


@pytest.mark.parametrize("expression, facts, holds, matched, failing", CASES)
def test_evaluate(expression, facts, holds, matched, failing):
    outcome = evaluate(expression, facts)
    assert (outcome.holds, outcome.matched, outcome.failing) == (holds, matched, failing)


@pytest.mark.parametrize("expression", ["cuda=>12.4", "cuda==12.4", "brand>=tesla", "cuda>=12.x", "gpu>=1",
                                        ">=12", "cuda>=", "cuda"])
def test_what_the_cli_calls_an_invalid_expression(expression):
    with pytest.raises(InvalidExpression):
        evaluate(expression, GEFORCE_535)


def test_an_invalid_clause_after_one_that_holds_is_never_read():
    assert evaluate("cuda>=12.0 cuda=>13", GEFORCE_535).holds is True
    assert evaluate("cuda>=13.0,cuda=>13 cuda>=12.0", GEFORCE_535).holds is True


# (container environment, the requirements the runtime checks)
REQUIREMENTS = [
    ({"NVIDIA_REQUIRE_CUDA": "cuda>=12.4"}, [("NVIDIA_REQUIRE_CUDA", "cuda>=12.4")]),
    ({"NVIDIA_REQUIRE_CUDA": "cuda>=12.4", "NVIDIA_REQUIRE_ARCH": "arch>=8.0", "NVIDIA_REQUIRE_JETPACK": "csv-mounts=all"},
     [("NVIDIA_REQUIRE_ARCH", "arch>=8.0"), ("NVIDIA_REQUIRE_CUDA", "cuda>=12.4")]),
    # a "legacy" image: CUDA_VERSION without NVIDIA_REQUIRE_CUDA requires cuda>=MAJOR.MINOR
    ({"CUDA_VERSION": "12.4.1"}, [("CUDA_VERSION", "cuda>=12.4")]),
    ({"CUDA_VERSION": "12.4.1", "NVIDIA_REQUIRE_CUDA": "cuda>=12.4"}, [("NVIDIA_REQUIRE_CUDA", "cuda>=12.4")]),
    # NVIDIA_DISABLE_REQUIRE: Go's strconv.ParseBool
    ({"NVIDIA_REQUIRE_CUDA": "cuda>=12.4", "NVIDIA_DISABLE_REQUIRE": "1"}, []),
    ({"NVIDIA_REQUIRE_CUDA": "cuda>=12.4", "NVIDIA_DISABLE_REQUIRE": "true"}, []),
    ({"NVIDIA_REQUIRE_CUDA": "cuda>=12.4", "NVIDIA_DISABLE_REQUIRE": "0"}, [("NVIDIA_REQUIRE_CUDA", "cuda>=12.4")]),
    ({"NVIDIA_REQUIRE_CUDA": "cuda>=12.4", "NVIDIA_DISABLE_REQUIRE": "yes"}, [("NVIDIA_REQUIRE_CUDA", "cuda>=12.4")]),
    ({}, []),
]


@pytest.mark.parametrize("env, expected", REQUIREMENTS)
def test_requirements(env, expected):
    assert requirements(env) == expected


def test_cuda_floor_reads_the_first_alternative():
    assert cuda_floor(CUDA_12_4) == (12, 4)
    assert cuda_floor("brand=tesla,driver>=470") is None
    assert cuda_floor("cuda>=13.0") == (13, 0)
