"""Volume seeding, the pure part: how the helper splits a bind seed's full copy among parallel `cp` workers.

One `cp -a` reads and writes one file at a time; a few of them at once keep the disk's queue full,
which is what makes the helper's copy faster than the host's `cp -a` (docs/seeding.md, "How the
copy runs"). The source's walk (engine/sources.py `scan`) gives every entry with its size; from it:

- units: start with the source's top-level entries; while the heaviest directory unit weighs more
  than total / (WORKERS * SPLIT), replace it by its entries (it becomes a *descended* directory,
  which the helper creates and whose attributes it restores after the copy, as `cp -a` would);
- shards: units, heaviest first, each to the lightest shard (LPT), then sorted by (parent, name)
  so that the entries of one directory are contiguous (one `cp` per directory and batch).

A unit weighs its bytes plus ENTRY_COST per file, link or directory in it: a file's creation costs
about as much as writing that many bytes. Nothing here touches the file system.
"""

from __future__ import annotations

import heapq
import posixpath

from mlstack.records import field, record

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms)
if TYPE_CHECKING:
    from typing import Mapping

WORKERS = 4                    # parallel cp workers: disk queue depth pays even on 2 cores
SPLIT = 4                      # units per worker to aim for: small enough units balance the shards
ENTRY_COST = 32 * 1024         # bytes a file's creation is worth when weighing units
SMALL_FILES = 200              # a copy with fewer entries than this ...
SMALL_BYTES = 64 * 1024 * 1024  # ... and fewer bytes than this is one cp: workers would not pay for themselves


@record
class TreeShape:
    """What the fingerprint leaves out but the plan needs, collected by the same walk: every directory,
    entries that are neither file, link nor directory (copied by cp -a as well), and whether a file has
    hard links or a name has a newline (which only one cp copies right)."""

    directories: list[str] = field(default_factory=list)   # paths as in the fingerprint (with its prefix)
    others: list[str] = field(default_factory=list)
    hard_links: bool = False
    newline: bool = False


@record(frozen=True)
class CopyPlan:
    """`shards` empty: one cp of the whole tree, for `reason`."""

    reason: str
    shards: tuple[tuple[str, ...], ...] = ()
    descended: tuple[str, ...] = ()      # children before their parents; "." (the copy's root) last

    @property
    def parallel(self) -> bool:
        return bool(self.shards)

    def describe(self) -> str:
        if not self.parallel:
            return f"one cp ({self.reason})"
        units = sum(len(shard) for shard in self.shards)
        return f"{len(self.shards)} workers, {units} units, {len(self.descended)} directories descended"


def plan_copy(files: Mapping[str, list], shape: TreeShape | None, prefix: str = "", follow_links: bool = False,
              workers: int = WORKERS) -> CopyPlan:
    """The copy of a fingerprinted directory (`files`: {prefix/path: [size, mtime] | ["link", target]})."""
    if follow_links or shape is None:
        return CopyPlan("links are followed")
    if shape.newline:
        return CopyPlan("a name has a newline")
    if shape.hard_links:
        return CopyPlan("hard links")
    strip = len(prefix) + 1 if prefix else 0
    leaves = {path[strip:]: (entry[0] if isinstance(entry[0], int) else 0) for path, entry in files.items()}
    leaves.update((path[strip:], 0) for path in shape.others)
    directories = [path[strip:] for path in shape.directories]
    if len(leaves) + len(directories) < SMALL_FILES and sum(leaves.values()) < SMALL_BYTES:
        return CopyPlan("small copy")
    weight, children = _weigh(leaves, directories)
    units, descended = _units(weight, children, workers)
    if len(units) <= 1:
        return CopyPlan("one unit")
    return CopyPlan("", _shards(units, weight, workers), tuple(sorted(descended, reverse=True)) + (".",))


def _weigh(leaves: dict[str, int], directories: list[str]) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Each entry's weight (a directory's: its whole subtree's) and each directory's entries ("" = the root)."""
    weight = {path: size + ENTRY_COST for path, size in leaves.items()}
    weight.update((path, ENTRY_COST) for path in directories)
    children: dict[str, list[str]] = {"": []}
    for path in directories:
        children.setdefault(path, [])
    for path in weight:
        children.setdefault(posixpath.dirname(path), []).append(path)
    for path, size in leaves.items():                    # into its directory, then directories upwards
        parent = posixpath.dirname(path)
        if parent:
            weight[parent] += size + ENTRY_COST
    for path in sorted(directories, key=lambda path: path.count("/"), reverse=True):   # deepest first
        parent = posixpath.dirname(path)
        if parent:
            weight[parent] += weight[path]
    return weight, children


def _units(weight: dict[str, int], children: dict[str, list[str]], workers: int) -> tuple[list[str], list[str]]:
    """Top-level entries, the heaviest directory replaced by its entries while it weighs over the bound."""
    bound = sum(weight[path] for path in children[""]) / (workers * SPLIT)
    units = set(children[""])
    heaviest = [(-weight[path], path) for path in children[""] if path in children]   # directories only
    heapq.heapify(heaviest)
    descended: list[str] = []
    while heaviest and -heaviest[0][0] > bound:
        _, path = heapq.heappop(heaviest)
        units.remove(path)
        descended.append(path)
        for child in children[path]:
            units.add(child)
            if child in children:
                heapq.heappush(heaviest, (-weight[child], child))
    return sorted(units), descended


def _shards(units: list[str], weight: dict[str, int], workers: int) -> tuple[tuple[str, ...], ...]:
    """Longest processing time first: each unit, heaviest first, to the lightest shard."""
    loads = [(0, index) for index in range(min(workers, len(units)))]
    shards: list[list[str]] = [[] for _ in loads]
    for path in sorted(units, key=lambda path: (-weight[path], path)):
        load, index = heapq.heappop(loads)
        shards[index].append(path)
        heapq.heappush(loads, (load + weight[path], index))
    return tuple(tuple(sorted(shard, key=lambda path: (posixpath.dirname(path), path))) for shard in shards)
