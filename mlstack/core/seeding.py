"""Volume seeding, the pure part, 1 of 3: declarations become plans.

A seed declaration (`volumes.NAME.seed` in mlstack.yaml, with defaults from a fragment's
`x-mlstack.caches.NAME`) becomes a `SeedPlan`: where the data comes from, whose files they become,
where in the volume they go, and the engine's real name of the volume. Markers and fingerprints
are in seed_marker.py, what to do with a volume in seed_decision.py. Nothing here touches the file
system or the engine (docs/seeding.md).
"""

from __future__ import annotations

import posixpath
import re
from mlstack.records import field, record

from mlstack.core.interpolate import InterpolationError, substitute
from mlstack.core.model import Node
from mlstack.patterns import lazy

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms)
if TYPE_CHECKING:
    from typing import Any, Mapping

MODES = ("once", "sync")
ARCHIVE_SUFFIXES = {".tar": "tar", ".tar.gz": "gz", ".tgz": "gz", ".tar.bz2": "bz2", ".tar.xz": "xz",
                    ".tar.zst": "zst", ".tar.zstd": "zst"}
HF_PREFIX = "hf-cache:"
COMMIT = lazy(r"[0-9a-f]{40}")

# Source kinds
DIRECTORY, ARCHIVE, IMAGE, HF_MODEL = "directory", "archive", "image", "hf-cache"


class PlanError(Exception):
    """A declaration that cannot be planned; `where` locates it (file:line:col: path)."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@record(frozen=True)
class Source:
    kind: str                 # directory | archive | image | hf-cache
    declared: str             # as written (for messages and status)
    path: str = ""            # directory, archive file, or the model's models--ORG--NAME directory
    image: str = ""
    image_path: str = ""
    model: str = ""           # ORG/NAME
    revision: str = "main"    # a ref name or a commit
    archive_format: str = ""  # tar | gz | bz2 | xz | zst


@record(frozen=True)
class SeedPlan:
    volume: str                          # the key under `volumes:` in the compose model
    volume_name: str                     # the engine's name: `<project>_<volume>` unless `name:` is set
    project: str
    source: Source
    owner: tuple[int, int] | None        # None: files keep the uid:gid they have at the source
    mode: str                            # once | sync
    subpath: str                         # where in the volume the content goes ("" = its root)
    where: str                           # the declaration's location, for messages
    external: bool = False
    driver: str | None = None
    driver_opts: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    service: str = ""                    # from x-mlstack.caches: who mounts it, and where
    target: str = ""

    @property
    def owner_text(self) -> str:
        return f"{self.owner[0]}:{self.owner[1]}" if self.owner else ""

    def compose_labels(self) -> dict[str, str]:
        """What Compose would put on the volume, less its config hash (whose absence Compose accepts
        and whose mismatch would make `compose up` offer to delete the volume)."""
        labels = dict(self.labels)
        if not self.external:
            labels.update({"com.docker.compose.project": self.project, "com.docker.compose.volume": self.volume})
        return labels


# --- declarations -> plans -------------------------------------------------------------------

def plan_seeds(declarations: Node | None, document: Mapping[str, Any], project: str, env: Mapping[str, str],
               base_dir: str) -> tuple[list[SeedPlan], list[str]]:
    """Plans for every `volumes.NAME.seed` in the stack definition, and notes on those skipped.

    `document`: the rendered compose model (its `volumes:` give real names, its `x-mlstack.caches`
    give defaults). `env`: interpolation variables and HOME / HF_HOME. `base_dir`: the stack
    definition's directory, which relative paths are relative to.
    """
    plans: list[SeedPlan] = []
    notes: list[str] = []
    if declarations is None or not declarations.is_map:
        return plans, notes
    model_volumes = document.get("volumes") or {}
    caches = ((document.get("x-mlstack") or {}).get("caches") or {})
    for volume, body in declarations.value.items():
        seed = body.get("seed") if body.is_map else None
        if seed is None:
            continue
        where = f"{seed.origin.location()}: volumes.{volume}.seed"
        if volume not in model_volumes:
            notes.append(f"{where}: no volume {volume!r} in this profile; not seeded")
            continue
        declared = seed.to_data()
        cache = caches.get(volume) or {}
        spec = model_volumes.get(volume) or {}
        plans.append(SeedPlan(
            volume=volume,
            volume_name=real_volume_name(project, volume, spec),
            project=project,
            source=parse_source(declared, env, base_dir, where),
            owner=parse_owner(declared.get("owner") or cache.get("owner"), where),
            mode=declared.get("mode", "once"),
            subpath=clean_subpath(_expand(declared.get("subpath", ""), env, where), where),
            where=where,
            external=bool(spec.get("external")),
            driver=spec.get("driver"),
            driver_opts={str(k): str(v) for k, v in (spec.get("driver_opts") or {}).items()},
            labels={str(k): str(v) for k, v in (spec.get("labels") or {}).items()},
            service=str(cache.get("service", "")),
            target=str(cache.get("target", "")),
        ))
    return plans, notes


def real_volume_name(project: str, volume: str, spec: Mapping[str, Any]) -> str:
    """Compose's rule: `name:` as given, else `<project>_<key>` (an external volume without a name is the key)."""
    if spec.get("name"):
        return str(spec["name"])
    if spec.get("external"):
        return volume
    return f"{project}_{volume}"


def parse_source(declared: Mapping[str, Any], env: Mapping[str, str], base_dir: str, where: str) -> Source:
    if "image" in declared:
        path = posixpath.normpath(str(declared.get("path", "")))
        if not path.startswith("/") or path == "/":
            raise PlanError(where, f"path must be an absolute directory inside the image, not {declared.get('path')!r}")
        return Source(IMAGE, f"{declared['image']}:{path}", image=_expand(str(declared["image"]), env, where),
                      image_path=path)
    text = str(declared.get("from", ""))
    if text.startswith(HF_PREFIX):
        return hf_source(text, env, where)
    path = host_path(_expand(text, env, where), env, base_dir)
    for suffix, archive_format in ARCHIVE_SUFFIXES.items():
        if path.endswith(suffix):
            return Source(ARCHIVE, text, path=path, archive_format=archive_format)
    return Source(DIRECTORY, text, path=path)


def hf_source(text: str, env: Mapping[str, str], where: str) -> Source:
    """`hf-cache:ORG/NAME[@REVISION]`: the model's snapshot in the user's local Hugging Face cache."""
    model, _, revision = text[len(HF_PREFIX):].partition("@")
    if not re.fullmatch(r"[\w.\-]+(/[\w.\-]+)?", model):
        raise PlanError(where, f"{text!r}: expected hf-cache:ORG/NAME or hf-cache:ORG/NAME@REVISION")
    models_dir = posixpath.join(hf_hub_dir(env), "models--" + model.replace("/", "--"))
    return Source(HF_MODEL, text, path=models_dir, model=model, revision=revision or "main")


def hf_hub_dir(env: Mapping[str, str]) -> str:
    """Where huggingface_hub keeps downloads: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub."""
    home = env.get("HOME", "/root")
    if env.get("HF_HUB_CACHE"):
        return host_path(env["HF_HUB_CACHE"], env, home)
    if env.get("HF_HOME"):
        return posixpath.join(host_path(env["HF_HOME"], env, home), "hub")
    cache = env.get("XDG_CACHE_HOME") or posixpath.join(home, ".cache")
    return posixpath.join(host_path(cache, env, home), "huggingface", "hub")


def hf_snapshot_subpath(source: Source, commit: str) -> str:
    """Where a model's snapshot lives inside an HF cache: the default subpath of an hf-cache seed."""
    return f"hub/models--{source.model.replace('/', '--')}/snapshots/{commit}"


def hf_ref_file(source: Source, commit: str) -> dict[str, bytes]:
    """The `refs/<name>` file that lets `from_pretrained(ORG/NAME)` find the snapshot offline."""
    if COMMIT.fullmatch(source.revision):
        return {}
    return {f"hub/models--{source.model.replace('/', '--')}/refs/{source.revision}": commit.encode()}


def host_path(text: str, env: Mapping[str, str], base_dir: str) -> str:
    if text == "~" or text.startswith("~/"):
        text = env.get("HOME", "/root") + text[1:]
    return posixpath.normpath(posixpath.join(base_dir, text))


def parse_owner(value: Any, where: str) -> tuple[int, int] | None:
    if value in (None, ""):
        return None
    match = re.fullmatch(r"(\d+)(?::(\d+))?", str(value))
    if match is None:
        raise PlanError(where, f"owner must be UID or UID:GID, not {value!r}")
    uid = int(match[1])
    return uid, int(match[2]) if match[2] is not None else uid


def clean_subpath(text: str, where: str) -> str:
    normal = posixpath.normpath(text.strip("/")) if text.strip("/") else ""
    if normal == ".":
        return ""
    if normal.startswith("..") or any(part.startswith(".mlstack-") for part in normal.split("/")):
        raise PlanError(where, f"subpath must stay inside the volume, not {text!r}")
    return normal


def _expand(text: str, env: Mapping[str, str], where: str) -> str:
    try:
        return substitute(str(text), env)
    except InterpolationError as error:
        raise PlanError(where, str(error)) from None


def volumes_used_by(document: Mapping[str, Any], services: list[str]) -> set[str]:
    """The named volumes (model keys) that these services mount."""
    used: set[str] = set()
    for name in services:
        for mount in ((document.get("services") or {}).get(name) or {}).get("volumes") or []:
            if isinstance(mount, dict) and mount.get("type", "volume") == "volume" and mount.get("source"):
                used.add(str(mount["source"]))
            elif isinstance(mount, str) and ":" in mount and not mount.startswith((".", "/", "~")):
                used.add(mount.split(":", 1)[0])
    return used
