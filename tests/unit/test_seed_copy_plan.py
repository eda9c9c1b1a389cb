"""How a bind seed's full copy is split among parallel cp workers (mlstack/core/seed_copy_plan.py, docs/seeding.md)."""

from __future__ import annotations

import os
import posixpath

import pytest

from mlstack.core.seed_copy_plan import ENTRY_COST, SMALL_BYTES, WORKERS, TreeShape, plan_copy
from mlstack.engine import helper_job, sources

MB = 1024 * 1024


def tree(files: dict[str, int], links: tuple[str, ...] = (), empty: tuple[str, ...] = (), prefix: str = ""):
    """A fingerprint listing and its shape, as engine/sources.py's walk gives them."""
    at = f"{prefix}/" if prefix else ""
    listing = {at + path: [size, 0] for path, size in files.items()}
    listing.update({at + path: ["link", "somewhere"] for path in links})
    directories = {posixpath.dirname(path) for path in [*files, *links, *empty]} | set(empty)
    for path in list(directories):
        while path:
            directories.add(path)
            path = posixpath.dirname(path)
    directories.discard("")
    return listing, TreeShape(directories=sorted(at + path for path in directories))


def mixed(prefix: str = ""):
    """The issue's shape, scaled down: 8 large files and 2,000 small ones in 20 directories."""
    files = {f"model/shard-{index}.bin": 100 * MB for index in range(8)}
    files.update({f"data/part{index % 20}/f{index}.txt": 25_000 for index in range(2000)})
    return tree(files, links=("model/latest",), empty=("data/empty",), prefix=prefix)


def shard_loads(plan, listing, prefix: str = "") -> list[int]:
    at = f"{prefix}/" if prefix else ""
    weights = []
    for shard in plan.shards:
        weights.append(sum(entry[0] + ENTRY_COST for path, entry in listing.items() if isinstance(entry[0], int)
                           and any(path == at + unit or path.startswith(at + unit + "/") for unit in shard)))
    return weights


def test_a_large_source_is_split_into_balanced_shards_one_per_worker():
    listing, shape = mixed()
    plan = plan_copy(listing, shape)
    assert plan.parallel and len(plan.shards) == WORKERS
    loads = shard_loads(plan, listing)
    assert max(loads) - min(loads) <= 100 * MB + ENTRY_COST   # LPT: at most one large file apart
    assert plan.describe() == f"{WORKERS} workers, {sum(map(len, plan.shards))} units, {len(plan.descended)} directories descended"


def test_every_entry_is_copied_by_exactly_one_unit_or_made_as_a_descended_directory():
    listing, shape = mixed()
    plan = plan_copy(listing, shape)
    units = [unit for shard in plan.shards for unit in shard]
    assert len(units) == len(set(units))
    for path in [*listing, *shape.directories]:
        covering = [unit for unit in units if path == unit or path.startswith(unit + "/")]
        assert len(covering) == 1 or (not covering and path in plan.descended), path
    assert "data/empty" in units or "data/empty" in plan.descended


def test_heavy_directories_are_descended_and_listed_children_first_root_last():
    listing, shape = mixed()
    plan = plan_copy(listing, shape)
    assert {"model", "data"} <= set(plan.descended)
    assert plan.descended[-1] == "."
    order = list(plan.descended)
    for index, path in enumerate(order[:-1]):
        assert all(not later.startswith(path + "/") for later in order[index + 1:]), path


def test_a_shards_entries_of_one_directory_are_contiguous():
    listing, shape = mixed()
    for shard in plan_copy(listing, shape).shards:
        parents = [posixpath.dirname(path) for path in shard]
        seen = []
        for parent in parents:
            if not seen or seen[-1] != parent:
                assert parent not in seen, shard
                seen.append(parent)


def test_the_plan_is_the_same_whatever_order_the_walk_found_entries_in():
    listing, shape = mixed()
    shuffled = dict(reversed(list(listing.items())))
    again = plan_copy(shuffled, TreeShape(directories=list(reversed(shape.directories))))
    assert again == plan_copy(listing, shape)


def test_the_prefix_of_a_subpath_is_not_part_of_the_paths_the_helper_reads():
    listing, shape = mixed(prefix="hub/models")
    plan = plan_copy(listing, shape, prefix="hub/models")
    assert plan == plan_copy(*mixed())


@pytest.mark.parametrize("shape_change, reason", [
    ({"hard_links": True}, "hard links"),
    ({"newline": True}, "a name has a newline"),
])
def test_what_only_one_cp_copies_right_falls_back_to_it(shape_change, reason):
    listing, shape = mixed()
    for name, value in shape_change.items():
        setattr(shape, name, value)
    plan = plan_copy(listing, shape)
    assert (plan.parallel, plan.shards, plan.describe()) == (False, (), f"one cp ({reason})")


def test_followed_links_fall_back_to_one_cp():
    listing, shape = mixed()
    assert plan_copy(listing, shape, follow_links=True).describe() == "one cp (links are followed)"


@pytest.mark.parametrize("files, parallel", [
    ({f"d/f{index}": 1000 for index in range(150)}, False),                 # few files, few bytes
    ({f"d{index % 5}/f{index}": 1000 for index in range(300)}, True),      # many files
    ({f"f{index}": SMALL_BYTES // 4 for index in range(5)}, True),         # many bytes
])
def test_a_small_copy_is_one_cp(files, parallel):
    plan = plan_copy(*tree(files))
    assert plan.parallel is parallel
    if not parallel:
        assert plan.describe() == "one cp (small copy)"


def test_a_single_large_file_is_one_unit_and_one_cp():
    assert plan_copy(*tree({"model.safetensors": 4 * SMALL_BYTES})).describe() == "one cp (one unit)"


def test_fewer_units_than_workers_make_fewer_workers():
    plan = plan_copy(*tree({"a.bin": SMALL_BYTES, "b.bin": SMALL_BYTES}))
    assert [list(shard) for shard in plan.shards] == [["a.bin"], ["b.bin"]]
    assert plan.descended == (".",)


def test_the_walk_collects_directories_special_files_hard_links_and_odd_names(tmp_path):
    (tmp_path / "d" / "empty").mkdir(parents=True)
    (tmp_path / "d" / "f").write_bytes(b"x")
    os.mkfifo(tmp_path / "fifo")
    shape = TreeShape()
    sources.scan(str(tmp_path), "sub", shape=shape)
    assert (sorted(shape.directories), shape.others, shape.hard_links, shape.newline) == (
        ["sub/d", "sub/d/empty"], ["sub/fifo"], False, False)
    os.link(tmp_path / "d" / "f", tmp_path / "g")
    (tmp_path / "new\nline").write_bytes(b"")
    shape = TreeShape()
    sources.scan(str(tmp_path), shape=shape)
    assert (shape.hard_links, shape.newline) == (True, True)


def test_the_helper_gets_one_list_per_worker_and_the_descended_directories():
    plan = plan_copy(*tree({"a b.bin": SMALL_BYTES, "-c/d": SMALL_BYTES, "-c/e": SMALL_BYTES}))
    lists = helper_job.parallel_lists(plan)
    assert sorted(lists) == ["descended", "shard-1", "shard-2", "shard-3"]
    assert b"".join(lists[f"shard-{index}"] for index in (1, 2, 3)).count(b"\n") == 3
    assert lists["descended"] == b"-c\n.\n"
