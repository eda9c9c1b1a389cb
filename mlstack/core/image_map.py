"""The image map (`images:` in mlstack.yaml): exact references and registry prefixes, with Docker's normalisation.

A key that ends in `/` is a prefix rule (`docker.io/: registry.internal:5000/`); any other key is an exact
reference. References are compared as Docker reads them (distribution's reference grammar): a name with no
registry host is on docker.io, and an official image's single component is under `library/`, so `postgres:16`
is `docker.io/library/postgres:16`, while `quay.io/x/y` is not on docker.io. Tags and digests are kept.

Which rule maps a reference, first that applies wins:

| rule | matches | result |
|---|---|---|
| exact, as written | the key is the reference, character for character | the replacement |
| exact, normalised | the key and the reference are the same image once normalised | the replacement |
| prefix, longest first | the normalised reference starts with the key (normalised, a whole path component) | the replacement, then the rest of the reference |
"""

from __future__ import annotations

import re

from mlstack.core.model import Node, Origin
from mlstack.errors import StackError
from mlstack.records import record
from mlstack.report import Diagnostic

DOCKER_HUB = "docker.io"
_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io")   # Docker writes them as docker.io
OFFICIAL = "library"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
# compiled when first matched, through re's cache (~1.5 ms at import; a stack without `images:` never needs them)
REFERENCE = (rf"(?:(?P<host>{_HOST})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
             rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?")
PREFIX = rf"(?P<host>{_HOST})/(?:{_COMPONENT}/)*"


def _is_host(component: str) -> bool:
    """Docker's rule: the first component names a registry when it has a dot or a port, or is localhost."""
    return "." in component or ":" in component or component == "localhost" or component.startswith("[")


def normalize(reference: str) -> str | None:
    """`postgres:16` -> `docker.io/library/postgres:16`; None for what is not an image reference."""
    first, _, rest = reference.partition("/")
    if rest and _is_host(first):
        host, path = (DOCKER_HUB if first in _HUB_ALIASES else first), rest
    else:
        host, path = DOCKER_HUB, reference
    if host == DOCKER_HUB and "/" not in path.split("@")[0].split(":")[0]:
        path = f"{OFFICIAL}/{path}"
    full = f"{host}/{path}"
    return full if re.fullmatch(REFERENCE, full) else None


def _normalize_prefix(key: str) -> str | None:
    """A prefix names a registry host and, optionally, repositories under it: `docker.io/library/`."""
    first = key.split("/", 1)[0]
    if not _is_host(first):
        return None
    if first in _HUB_ALIASES:
        key = DOCKER_HUB + key[len(first):]
    return key if re.fullmatch(PREFIX, key) else None


@record(frozen=True)
class Rule:
    key: str            # as written in mlstack.yaml
    replacement: str
    normalized: str     # the key as Docker reads it
    origin: Origin      # where the rule's replacement is written

    @property
    def prefix(self) -> bool:
        return self.key.endswith("/")


@record(frozen=True)
class Mapped:
    reference: str
    rule: Rule


class ImageMap:
    """The compiled rules; `lookup` says what a reference becomes and by which rule."""

    def __init__(self, rules: list[Rule]):
        self.exact = {rule.key: rule for rule in rules if not rule.prefix}
        self.normalized = {rule.normalized: rule for rule in rules if not rule.prefix}
        self.prefixes = sorted((rule for rule in rules if rule.prefix), key=lambda rule: -len(rule.normalized))

    def __bool__(self) -> bool:
        return bool(self.exact or self.prefixes)

    def apply(self, reference: str) -> str:
        """The reference the map makes of this one (itself when no rule maps it)."""
        mapped = self.lookup(reference)
        return reference if mapped is None else mapped.reference

    def lookup(self, reference: str) -> Mapped | None:
        if reference in self.exact:
            rule = self.exact[reference]
            return Mapped(rule.replacement, rule)
        full = normalize(reference)
        if full is None:
            return None
        if full in self.normalized:
            rule = self.normalized[full]
            return Mapped(rule.replacement, rule)
        for rule in self.prefixes:
            if full.startswith(rule.normalized):
                return Mapped(rule.replacement + full[len(rule.normalized):], rule)
        return None


def compile_map(images: Node | None, file: str) -> ImageMap:
    """The map from `images:` as loaded (schema-checked: a mapping of strings); a malformed rule is a located error."""
    rules, problems = [], []
    for key, value in (images.value.items() if images is not None and images.is_map else []):
        replacement = value.text()
        problem = _problem(key, replacement)
        if problem:
            problems.append(Diagnostic(file, value.origin.line, value.origin.column, f"images.{key}", problem, "images"))
            continue
        normalized = _normalize_prefix(key) if key.endswith("/") else normalize(key)
        rules.append(Rule(key, replacement, normalized or key, value.origin.with_rule("mapped")))
    if problems:
        raise StackError(problems[0].message, problems)
    return ImageMap(rules)


def _problem(key: str, replacement: str) -> str:
    """What is wrong with one rule, in the user's words; empty when nothing is."""
    if key.endswith("/"):
        if _normalize_prefix(key) is None:
            return (f"prefix rule {key!r} must start with a registry host (docker.io/, quay.io/, "
                    "registry.internal:5000/) and name whole path components")
        if not replacement.endswith("/"):
            return f"a prefix rule's replacement ends with '/', as its key does: {replacement!r} -> {replacement}/"
        if _normalize_prefix(replacement) is None:
            return f"replacement {replacement!r} must start with a registry host and name whole path components"
        return ""
    if normalize(key) is None:
        return f"{key!r} is not an image reference (a prefix rule ends with '/')"
    if replacement.endswith("/") or normalize(replacement) is None:
        return f"replacement {replacement!r} is not an image reference"
    return ""
