"""Rules about images: tags, digests, the user a container runs as, tools a healthcheck needs.

What mlstack knows about well-known images is a table (IMAGES), first match wins; an image it
does not know is judged by what the stack says, never guessed.
"""

from __future__ import annotations

import re
from mlstack.records import record
from fnmatch import fnmatchcase
from typing import Iterator

from mlstack.core.lint_model import Hit, LintInput
from mlstack.core.model import Node
from mlstack.core.validate import services_of
from mlstack.patterns import lazy


@record(frozen=True)
class ImageFacts:
    user: str                       # drops: starts as root, entrypoint drops to its own user; unprivileged: not root
                                    # by default; root: needs root as shipped
    lacks: frozenset[str] = frozenset()   # tools a healthcheck might call that the image does not ship
    data: bool = False              # holds data (database, vector store, tracking server): never on all interfaces
    advice: str = ""


NO_HTTP_CLIENT = frozenset({"curl", "wget"})

# (pattern on `repository:tag`, facts). Repositories as Docker normalizes them, without docker.io/library/.
IMAGES: list[tuple[str, ImageFacts]] = [
    ("postgres:*alpine*", ImageFacts("drops", frozenset({"curl"}), data=True)),   # busybox has a wget
    ("postgres:*", ImageFacts("drops", NO_HTTP_CLIENT, data=True)),
    ("pgvector/pgvector:*", ImageFacts("drops", NO_HTTP_CLIENT, data=True)),
    ("redis:*alpine*", ImageFacts("drops", frozenset({"curl"}), data=True)),
    ("redis:*", ImageFacts("drops", NO_HTTP_CLIENT, data=True)),
    ("qdrant/qdrant:*unprivileged", ImageFacts("unprivileged", NO_HTTP_CLIENT, data=True)),
    ("qdrant/qdrant:*", ImageFacts("root", NO_HTTP_CLIENT, data=True,
                                   advice="the qdrant/qdrant:<version>-unprivileged variant runs as uid 1000")),
    ("ghcr.io/mlflow/mlflow:*", ImageFacts("root", NO_HTTP_CLIENT, data=True,
                                           advice="build FROM it with a USER, as mlstack's mlflow template does")),
    ("quay.io/jupyter/*", ImageFacts("unprivileged")),
    ("jupyter/*", ImageFacts("unprivileged")),
]
DATA_SERVICE_NAMES = {"postgres", "redis", "qdrant", "mlflow"}
ROOT_USERS = {"root", "0"}


def split_reference(reference: str) -> tuple[str, str, str]:
    """`registry/repo:tag@digest` -> (repository as Docker normalizes it, tag, digest)."""
    name, _, digest = reference.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    repository = name[:len(name) - len(tag) - 1] if tag else name
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/", "library/"):
        if repository.startswith(prefix):
            repository = repository[len(prefix):]
            break
    return repository, tag, digest


def facts_of(reference: str) -> ImageFacts | None:
    repository, tag, _ = split_reference(reference)
    key = f"{repository}:{tag or 'latest'}"
    return next((facts for pattern, facts in IMAGES if fnmatchcase(key, pattern)), None)


def _image(service: Node) -> str:
    image = service.get("image")
    return image.value if image is not None and isinstance(image.value, str) else ""


def service_facts(data: LintInput, name: str, service: Node) -> ImageFacts | None:
    """The image's facts; for a service built here, its Dockerfile's base image with the Dockerfile's USER."""
    context = data.contexts.get(name)
    if service.get("build") is not None:
        if context is None:
            return None
        base = facts_of(context.dockerfile_base) if context.dockerfile_base else None
        user = context.dockerfile_user
        if user is not None and user.split(":")[0] not in ROOT_USERS:
            return ImageFacts("unprivileged", base.lacks if base else frozenset(), base.data if base else False)
        return base or ImageFacts("root")
    return facts_of(_image(service)) if _image(service) else None


def is_data_service(data: LintInput, name: str, service: Node) -> bool:
    facts = service_facts(data, name, service)
    return name in DATA_SERVICE_NAMES or (facts is not None and facts.data)


def pulled_images(data: LintInput) -> Iterator[tuple[str, Node, str]]:
    """(service, image node, reference) of the services that pull their image (a built one is named, not pulled)."""
    for name, service in services_of(data.root).items():
        image = service.get("image")
        if image is not None and isinstance(image.value, str) and image.value and service.get("build") is None:
            yield name, image, image.value


# --- MLS001 image-tag ----------------------------------------------------------------------------
def image_tag(data: LintInput) -> Iterator[Hit]:
    for name, image, reference in pulled_images(data):
        _, tag, digest = split_reference(reference)
        if digest:
            continue
        if not tag:
            yield Hit(image, ("services", name, "image"), f'image "{reference}" has no tag, so it means :latest; pin a version')
        elif tag == "latest":
            yield Hit(image, ("services", name, "image"), f'image "{reference}" uses the latest tag; pin a version')


# --- MLS006 image-digest -------------------------------------------------------------------------
def image_digest(data: LintInput) -> Iterator[Hit]:
    for name, image, reference in pulled_images(data):
        if not split_reference(reference)[2]:
            yield Hit(image, ("services", name, "image"),
                      f'image "{reference}" is not pinned by digest; a tag can be pushed again (image@sha256:...)')


# --- MLS007 root-user ----------------------------------------------------------------------------
def root_user(data: LintInput) -> Iterator[Hit]:
    for name, service in services_of(data.root).items():
        user = service.get("user")
        if user is not None:
            if user.text().split(":")[0] in ROOT_USERS:
                yield Hit(user, ("services", name, "user"), f"runs as root (user: {user.text()}); set an unprivileged UID:GID")
            continue
        facts = service_facts(data, name, service)
        if service.get("build") is not None and name in data.contexts and facts is not None and facts.user == "root":
            yield Hit(service, ("services", name),
                      "sets no user and its Dockerfile has no USER (or USER root), so it runs as root; "
                      "add USER to the Dockerfile or set user: UID:GID")
        elif facts is None and service.get("build") is None and _image(service):
            yield Hit(service, ("services", name),
                      f"sets no user, so {_image(service)} runs as its default user, root for most images; "
                      "set user: UID:GID")
        elif facts is not None and facts.user == "root" and service.get("build") is None:
            advice = f"; {facts.advice}" if facts.advice else ""
            yield Hit(service, ("services", name), f"{_image(service)} runs as root{advice}")


# --- MLS018 healthcheck-tool ---------------------------------------------------------------------
_WORD = lazy(r"[A-Za-z0-9_./-]+")


def healthcheck_programs(test: Node | None) -> list[str]:
    """The programs a healthcheck runs: CMD's first argument, or each command of a CMD-SHELL line."""
    if test is None:
        return []
    parts = [item.text() for item in test.value] if test.is_seq else [test.text()]
    if not parts or parts[0] == "NONE":
        return []
    if parts[0] == "CMD":
        return [parts[1].rsplit("/", 1)[-1]] if len(parts) > 1 else []
    shell = " ".join(parts[1:]) if parts[0] == "CMD-SHELL" else " ".join(parts)
    programs = []
    for command in re.split(r"\|\||&&|[|;]", shell):
        words = _WORD.findall(command)
        if words:
            programs.append(words[0].rsplit("/", 1)[-1])
    return programs


def healthcheck_tool(data: LintInput) -> Iterator[Hit]:
    for name, service in services_of(data.root).items():
        healthcheck = service.get("healthcheck")
        facts = service_facts(data, name, service)
        if healthcheck is None or not healthcheck.is_map or facts is None:
            continue
        test = healthcheck.get("test")
        missing = [program for program in healthcheck_programs(test) if program in facts.lacks]
        if missing:
            image = (f"{data.contexts[name].dockerfile_base} (its base image)" if service.get("build") is not None
                     else _image(service))
            yield Hit(test, ("services", name, "healthcheck", "test"),
                      f"the healthcheck runs {missing[0]}, which {image} does not ship, so the service never "
                      "becomes healthy")


def is_jupyter(service: Node) -> bool:
    """A notebook server: PyTorch DataLoader workers run in it as in a GPU service."""
    repository = split_reference(_image(service))[0]
    return "jupyter" in repository or "notebook" in repository
