"""The `NVIDIA_REQUIRE_*` constraint language, evaluated as the NVIDIA container CLI evaluates it.

What libnvidia-container does (src/cli/dsl.c, src/cli/configure.c; the variables are gathered by
nvidia-container-toolkit, internal/config/image/cuda_image.go):
- every `NVIDIA_REQUIRE_*` variable but `NVIDIA_REQUIRE_JETPACK*` is one requirement; all must hold;
  an image with `CUDA_VERSION` and no `NVIDIA_REQUIRE_CUDA` ("legacy") requires `cuda>=MAJOR.MINOR`;
  `NVIDIA_DISABLE_REQUIRE` set to a true value (Go's strconv.ParseBool) skips them all;
- within one requirement, space-separated alternatives are ORed, left to right, the first that
  holds wins; within an alternative, comma-separated clauses are ANDed, the first false one ends it;
- a clause is `NAME OP VALUE`: NAME one of `cuda` (the CUDA version of the driver), `driver` (the
  driver version), `arch` (the GPU's compute capability), `brand` (the GPU's brand), in any case;
  OP one of `= != < <= > >=`; versions compare number by number, trailing `.0`s ignored; a brand
  compares case-insensitively, with `=` and `!=` only; anything else is an invalid expression and
  the container does not start;
- requirements are evaluated for each GPU given to the container, and once without a GPU
  (brand and arch then hold) when none is given.
"""

from __future__ import annotations

from mlstack.records import field, record

from mlstack.core.gpu_tables import Version, same_version, version_tuple

RULE_NAMES = ("cuda", "driver", "arch", "brand")
OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
OPERATOR_CHARACTERS = "<>=!"
TRUE_WORDS = {"1", "t", "T", "TRUE", "true", "True"}      # Go's strconv.ParseBool


class InvalidExpression(ValueError):
    """The NVIDIA container CLI answers `requirement error: invalid expression` and nothing starts."""


@record(frozen=True)
class Facts:
    """What one evaluation compares against; None is a fact mlstack could not learn (never false)."""

    cuda: str | None
    driver: str | None
    arch: str | None = None
    brand: str | None = None


@record
class Outcome:
    holds: bool | None            # None: a fact was unknown and no alternative held for certain
    matched: str = ""             # the alternative that held
    failing: list[str] = field(default_factory=list)   # per alternative: its first false clause


def disabled(env: dict[str, str]) -> bool:
    """NVIDIA_DISABLE_REQUIRE set to a true value: the runtime checks no requirement."""
    return env.get("NVIDIA_DISABLE_REQUIRE", "") in TRUE_WORDS


def requirements(env: dict[str, str]) -> list[tuple[str, str]]:
    """(variable, expression) the runtime checks for a container with this environment; [] when disabled."""
    if disabled(env):
        return []
    found = [(name, value) for name, value in sorted(env.items())
             if name.startswith("NVIDIA_REQUIRE_") and not name.startswith("NVIDIA_REQUIRE_JETPACK")]
    if env.get("CUDA_VERSION") and not env.get("NVIDIA_REQUIRE_CUDA"):
        parts = version_tuple(env["CUDA_VERSION"])
        if len(parts) >= 2:
            found.append(("CUDA_VERSION", f"cuda>={parts[0]}.{parts[1]}"))
    return found


def evaluate(expression: str, facts: Facts) -> Outcome:
    """One requirement against one GPU's facts; raises InvalidExpression where the CLI would."""
    outcome = Outcome(False)
    unknown = False
    alternatives = [alternative for alternative in expression.split(" ") if alternative]
    if not alternatives:
        return Outcome(True)      # the CLI starts from "holds" and finds nothing against it
    for alternative in alternatives:
        result: bool | None = True
        for clause in alternative.split(","):
            if not clause:
                continue
            value = _clause(clause, facts)
            if value is False:
                outcome.failing.append(clause)
                result = False
                break
            if value is None:
                result = None
        if result is True:
            outcome.holds, outcome.matched = True, alternative
            return outcome
        unknown = unknown or result is None
    outcome.holds = None if unknown else False
    return outcome


def first_alternative(expression: str) -> str:
    """What the CLI names when a requirement fails: `unsatisfied condition: <first alternative>`."""
    return next((part for part in expression.split(" ") if part), "")


def cuda_floor(expression: str) -> tuple[int, int] | None:
    """X.Y of a `cuda>=X.Y` clause in the first alternative: the CUDA the image was built for."""
    for clause in first_alternative(expression).split(","):
        name, operator, value = _split(clause)
        if name.lower() == "cuda" and operator in (">=", ">", "=") and value:
            parts = version_tuple(value)
            return (parts[0], parts[1] if len(parts) > 1 else 0) if parts else None
    return None


def _split(clause: str) -> tuple[str, str, str]:
    start = next((i for i, ch in enumerate(clause) if ch in OPERATOR_CHARACTERS), len(clause))
    end = start
    while end < len(clause) and clause[end] in OPERATOR_CHARACTERS:
        end += 1
    return clause[:start], clause[start:end], clause[end:]


def _clause(clause: str, facts: Facts) -> bool | None:
    name, operator, value = _split(clause)
    if not name or operator not in OPERATORS or not value or name.lower() not in RULE_NAMES:
        raise InvalidExpression(clause)
    have = getattr(facts, name.lower())
    if name.lower() == "brand":
        if operator not in ("=", "!="):
            raise InvalidExpression(clause)
        return None if have is None else (have.lower() == value.lower()) == (operator == "=")
    if not _is_version(value) or (have is not None and not _is_version(have)):
        raise InvalidExpression(clause)
    return None if have is None else _compare(same_version(version_tuple(have)), operator,
                                              same_version(version_tuple(value)))


def _is_version(text: str) -> bool:
    return all(ch.isdigit() or ch == "." for ch in text) and any(ch.isdigit() for ch in text)


def _compare(left: Version, operator: str, right: Version) -> bool:
    return {"=": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
            ">": left > right, ">=": left >= right}[operator]
