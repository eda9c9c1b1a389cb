"""Rules about what goes into images and volumes: the build context's .dockerignore, model caches."""

from __future__ import annotations

import re
from typing import Iterator

from mlstack.core.lint_model import Hit, LintInput
from mlstack.core.validate import items, services_of
from mlstack.patterns import lazy

# What a .dockerignore must keep out of an ML project's build context, each checked with sample
# paths: the context is sent to the engine whole, and a COPY . copies it into a layer for good.
DOCKERIGNORE_PROBES: list[tuple[str, tuple[str, ...]]] = [
    ("model weights", ("models/model.safetensors", "model.pt", "checkpoints/last.ckpt")),
    ("datasets", ("data/train.parquet", "datasets/train.jsonl")),
    ("notebooks", ("notebooks/eda.ipynb",)),
    (".git", (".git",)),
    (".env", (".env",)),
]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Docker matches it: `**` any directories, `*` and `?` within one."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[" and "]" in pattern[i:]:
            end = pattern.index("]", i)
            out, i = out + pattern[i:end + 1].replace("[!", "[^"), end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def ignored(path: str, patterns: tuple[str, ...]) -> bool:
    """Whether Docker leaves `path` out of the context: the last pattern matching it or a parent decides."""
    parents = [path] + ["/".join(path.split("/")[:depth]) for depth in range(1, path.count("/") + 1)]
    verdict = False
    for raw in patterns:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        body = line[1:].strip() if negated else line
        body = body.strip("/").removeprefix("./")
        if body and any(_pattern_regex(body).match(candidate) for candidate in parents):
            verdict = not negated
    return verdict


# --- MLS016 dockerignore -------------------------------------------------------------------------
def dockerignore(data: LintInput) -> Iterator[Hit]:
    for name, service in services_of(data.root).items():
        build = service.get("build")
        context = data.contexts.get(name)
        if build is None or context is None:
            continue
        node = build.get("context") if build.is_map and build.get("context") is not None else build
        if context.dockerignore is None:
            yield Hit(node, ("services", name, "build", "context"),
                      f"build context {context.path} has no .dockerignore: weights, datasets, notebooks, .git and "
                      ".env are sent to the engine and COPY puts them in the image")
            continue
        missing = [what for what, probes in DOCKERIGNORE_PROBES
                   if not all(ignored(probe, context.dockerignore) for probe in probes)]
        if missing:
            yield Hit(node, ("services", name, "build", "context"),
                      f".dockerignore of build context {context.path} does not exclude {', '.join(missing)}")


# --- MLS017 cache-volume -------------------------------------------------------------------------
CACHE_TARGETS = lazy(r"/\.cache/(huggingface|torch)(/|$)|/huggingface(/|$)|/\.ollama(/|$)")
CACHE_VARIABLES = ("HF_HOME", "HF_HUB_CACHE", "TRANSFORMERS_CACHE", "TORCH_HOME", "SENTENCE_TRANSFORMERS_HOME")


def cache_volume(data: LintInput) -> Iterator[Hit]:
    declared = data.root.get("volumes")
    named = set(declared.value) if declared is not None and declared.is_map else set()
    for name, service in services_of(data.root).items():
        environment = service.get("environment")
        variables = environment.value if environment is not None and environment.is_map else {}
        cache_dirs = {variables[v].text().rstrip("/") for v in CACHE_VARIABLES if v in variables}
        for index, mount in items(service.get("volumes")):
            if not mount.is_map or mount.get("type") is None or mount.get("type").text() != "volume":
                continue
            source, target = mount.get("source"), mount.get("target")
            if source is None or target is None or source.text() not in named:
                continue
            volume = source.text()
            is_cache = CACHE_TARGETS.search(target.text()) or target.text().rstrip("/") in cache_dirs
            if is_cache and volume not in data.caches and volume not in data.seeded:
                yield Hit(mount, ("services", name, "volumes", index),
                          f"volume {volume} holds a model cache ({target.text()}) but is neither seeded "
                          "(volumes.<name>.seed in mlstack.yaml) nor named in x-mlstack.caches: every new machine "
                          "downloads the models again, and mlstack seed cannot fill it")
