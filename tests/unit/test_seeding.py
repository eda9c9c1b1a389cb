"""The seeding planner, the decision table, fingerprints and tar streams: no engine needed."""

from __future__ import annotations

import io
import os
import tarfile
import time

import pytest

from mlstack.core import seed_decision, seed_marker, seeding
from mlstack.core.load import parse_yaml
from mlstack.core.seed_decision import Observed
from mlstack.core.seed_marker import Fingerprint, Marker
from mlstack.core.seeding import PlanError
from mlstack.engine import sources
from mlstack.errors import SeedError

ENV = {"HOME": "/home/ada", "MODELS": "/data/models"}
DOCUMENT = {
    "services": {"jupyter": {"image": "jupyter:1", "volumes": [{"type": "volume", "source": "hf-cache",
                                                                "target": "/home/jovyan/.cache/huggingface"}]},
                 "api": {"image": "api:1", "volumes": ["models:/models", "./src:/app"]}},
    "volumes": {"hf-cache": {}, "models": {"name": "shared-models"}, "outside": {"external": True},
                "labelled": {"driver": "local", "driver_opts": {"type": "tmpfs"}, "labels": {"team": "ml"}}},
    "x-mlstack": {"caches": {"hf-cache": {"service": "jupyter", "target": "/home/jovyan/.cache/huggingface",
                                          "owner": "1000:100"}}},
}


def plan(body: str, volume: str = "hf-cache", document=DOCUMENT, env=ENV):
    text = f"volumes:\n  {volume}:\n    seed: {body}\n"
    plans, notes = seeding.plan_seeds(parse_yaml(text, "mlstack.yaml").get("volumes"), document, "demo-dev", env,
                                      "/srv/stack")
    return plans[0] if plans else notes


# (declaration, expected (kind, path or image, owner, mode, subpath))
PLANS = [
    ("relative directory, owner from the cache", "{from: ./models}",
     ("directory", "/srv/stack/models", (1000, 100), "once", "")),
    ("home and variables expand", "{from: '~/m/${MODELS}', mode: sync}",
     ("directory", "/home/ada/m/data/models", (1000, 100), "sync", "")),
    ("absolute archive, declared owner wins", "{from: /x/w.tar.gz, owner: '0:0', subpath: /a/b/}",
     ("archive", "/x/w.tar.gz", (0, 0), "once", "a/b")),
    ("zstd archive", "{from: w.tar.zst}", ("archive", "/srv/stack/w.tar.zst", (1000, 100), "once", "")),
    ("uid only means uid:uid", "{from: ./m, owner: '33'}", ("directory", "/srv/stack/m", (33, 33), "once", "")),
    ("image", "{image: 'reg/weights:1', path: /models/}", ("image", "reg/weights:1", (1000, 100), "once", "")),
    ("hf model", "{from: 'hf-cache:sentence-transformers/all-MiniLM-L6-v2'}",
     ("hf-cache", "/home/ada/.cache/huggingface/hub/models--sentence-transformers--all-MiniLM-L6-v2", (1000, 100),
      "once", "")),
]


@pytest.mark.parametrize("body, expected", [case[1:] for case in PLANS], ids=[case[0] for case in PLANS])
def test_plans(body, expected):
    found = plan(body)
    where = found.source.image if found.source.kind == "image" else found.source.path
    assert (found.source.kind, where, found.owner, found.mode, found.subpath) == expected
    assert found.volume_name == "demo-dev_hf-cache"
    assert found.where == "mlstack.yaml:3:11: volumes.hf-cache.seed"
    assert (found.service, found.target) == ("jupyter", "/home/jovyan/.cache/huggingface")


def test_real_names_drivers_and_labels():
    assert plan("{from: ./m}", "models").volume_name == "shared-models"
    outside = plan("{from: ./m}", "outside")
    assert (outside.volume_name, outside.external, outside.owner) == ("outside", True, None)
    assert outside.compose_labels() == {}
    labelled = plan("{from: ./m}", "labelled")
    assert (labelled.driver, labelled.driver_opts) == ("local", {"type": "tmpfs"})
    assert labelled.compose_labels() == {"team": "ml", "com.docker.compose.project": "demo-dev",
                                         "com.docker.compose.volume": "labelled"}


def test_a_volume_missing_from_the_profile_is_a_note():
    assert plan("{from: ./m}", "nowhere") == [
        "mlstack.yaml:3:11: volumes.nowhere.seed: no volume 'nowhere' in this profile; not seeded"]


ERRORS = [
    ("{from: ./m, subpath: ../up}", "mlstack.yaml:3:11: volumes.hf-cache.seed: subpath must stay inside the volume, not '../up'"),
    ("{from: ./m, subpath: .mlstack-ready}", "mlstack.yaml:3:11: volumes.hf-cache.seed: subpath must stay inside the volume, not '.mlstack-ready'"),
    ("{from: ./m, owner: root}", "mlstack.yaml:3:11: volumes.hf-cache.seed: owner must be UID or UID:GID, not 'root'"),
    ("{image: busybox, path: relative}", "mlstack.yaml:3:11: volumes.hf-cache.seed: path must be an absolute directory inside the image, not 'relative'"),
    ("{from: 'hf-cache:a b'}", "mlstack.yaml:3:11: volumes.hf-cache.seed: 'hf-cache:a b': expected hf-cache:ORG/NAME or hf-cache:ORG/NAME@REVISION"),
]


@pytest.mark.parametrize("body, message", ERRORS)
def test_plan_errors(body, message):
    with pytest.raises(PlanError) as error:
        plan(body)
    assert str(error.value) == message


@pytest.mark.parametrize("env, expected", [
    ({"HOME": "/h"}, "/h/.cache/huggingface/hub"),
    ({"HOME": "/h", "XDG_CACHE_HOME": "/xdg"}, "/xdg/huggingface/hub"),
    ({"HOME": "/h", "HF_HOME": "~/hf"}, "/h/hf/hub"),
    ({"HOME": "/h", "HF_HOME": "/hf", "HF_HUB_CACHE": "/hub"}, "/hub"),
])
def test_hf_hub_dir(env, expected):
    assert seeding.hf_hub_dir(env) == expected


def test_hf_snapshot_place_and_ref():
    source = seeding.hf_source("hf-cache:org/name", ENV, "here")
    commit = "a" * 40
    assert seeding.hf_snapshot_subpath(source, commit) == f"hub/models--org--name/snapshots/{commit}"
    assert seeding.hf_ref_file(source, commit) == {"hub/models--org--name/refs/main": commit.encode()}
    pinned = seeding.hf_source(f"hf-cache:org/name@{commit}", ENV, "here")
    assert (pinned.revision, seeding.hf_ref_file(pinned, commit)) == (commit, {})


def test_volumes_used_by():
    assert seeding.volumes_used_by(DOCUMENT, ["jupyter"]) == {"hf-cache"}
    assert seeding.volumes_used_by(DOCUMENT, ["api"]) == {"models"}
    assert seeding.volumes_used_by(DOCUMENT, []) == set()


# --- the decision table ----------------------------------------------------------------------

OLD = {"a": [1, 10], "b": [2, 20], "gone": [3, 3_000_000_000], "link": ["link", "a"]}
NEW = {"a": [1, 10], "b": [5, 50], "c": [1, 1], "link": ["link", "a"]}


def marker(files=OLD, identity="directory /m") -> Marker:
    return Marker("demo-dev_hf-cache", "./m", identity, seed_marker.fingerprint_digest(identity, files), files,
                  6, "1000:100", "once", "", "2026-01-01T00:00:00Z", "abc")


def decide(observed, files=NEW, mode="once", force=False, differing=None, identity="directory /m"):
    declared = plan(f"{{from: ./m, mode: {mode}}}")
    decision = seed_decision.decide(declared, observed, Fingerprint(identity, files, 7), force, differing)
    return decision.action, decision.copy, decision.remove


DECISIONS = [
    ("new volume", Observed(False), {}, ("seed", None, [])),
    ("empty volume", Observed(True, None, []), {}, ("seed", None, [])),
    ("foreign data", Observed(True, None, ["x"]), {}, ("refuse", None, [])),
    ("foreign data, forced", Observed(True, None, ["x"]), {"force": True}, ("seed", None, [])),
    ("unknown content: the helper checks", Observed(True, None, None), {}, ("seed", None, [])),
    ("unchanged", Observed(True, marker(NEW)), {}, ("up to date", None, [])),
    ("unchanged, forced", Observed(True, marker(NEW)), {"force": True}, ("seed", None, [])),
    ("changed, once", Observed(True, marker()), {}, ("stale", None, [])),
    ("changed, once, forced", Observed(True, marker()), {"force": True}, ("seed", None, ["gone"])),
    ("changed, sync", Observed(True, marker()), {"mode": "sync"}, ("update", ["b", "c"], ["gone"])),
    ("content differs, sync", Observed(True, marker(NEW)), {"mode": "sync", "differing": ["a"]}, ("update", ["a"], [])),
    ("content differs, once", Observed(True, marker(NEW)), {"differing": ["a"]}, ("stale", None, [])),
    ("archive changed, sync: whole", Observed(True, marker({}, "archive 1")), {"mode": "sync", "files": {},
                                                                              "identity": "archive 2"}, ("seed", None, [])),
]


@pytest.mark.parametrize("observed, options, expected", [case[1:] for case in DECISIONS], ids=[c[0] for c in DECISIONS])
def test_decisions(observed, options, expected):
    assert decide(observed, **options) == expected


def test_decision_reasons_name_the_way_out():
    declared = plan("{from: ./m}")
    refused = seed_decision.decide(declared, Observed(True, None, ["a", "b", "c", "d"]), Fingerprint("x", {}, 0), False)
    assert refused.reason == "holds data mlstack did not put there (a, b, c, ...)"
    stale = seed_decision.decide(declared, Observed(True, marker()), Fingerprint("directory /m", NEW, 0), False)
    assert stale.reason == "source changed since 2026-01-01T00:00:00Z; mode once keeps the seeded content (--force re-seeds)"


def test_removal_lines_keep_what_is_needed_to_spare_user_changes():
    assert seed_marker.removal_lines(OLD, ["gone", "link"]) == b"3 3 gone\nlink - link\n"
    assert seed_marker.removal_lines(OLD, []) == b""


def test_marker_round_trip_and_version():
    assert Marker.from_json(marker().to_json()) == marker()
    with pytest.raises(ValueError, match="unknown marker version 9"):
        Marker.from_json(b'{"version": 9}')


def test_digest_depends_on_every_part():
    base = seed_marker.fingerprint_digest("d", {"a": [1, 2]})
    assert base == seed_marker.fingerprint_digest("d", {"a": [1, 2]})
    assert len({base, seed_marker.fingerprint_digest("e", {"a": [1, 2]}), seed_marker.fingerprint_digest("d", {"a": [1, 3]}),
                seed_marker.fingerprint_digest("d", {"b": [1, 2]}), seed_marker.fingerprint_digest("d", {})}) == 5


# --- methods and helpers ---------------------------------------------------------------------

@pytest.mark.parametrize("requested, local, body, expected", [
    ("auto", True, "{from: ./m}", "bind"),
    ("auto", False, "{from: ./m}", "archive"),
    ("auto", True, "{from: ./m.tar.gz}", "archive"),
    ("bind", True, "{from: ./m.tar.gz}", "bind"),
    ("archive", True, "{from: ./m}", "archive"),
    ("bind", True, "{image: i, path: /p}", "archive"),
])
def test_choose_method(requested, local, body, expected):
    assert seed_decision.choose_method(requested, local, plan(body).source) == expected


@pytest.mark.parametrize("requested, local, body, message", [
    ("bind", False, "{from: ./m}", "--method bind: needs the Docker engine on this machine (a unix socket); use archive"),
    ("bind", True, "{from: ./m.tar.zst}", "--method bind: cannot unpack .tar.zst inside the helper; use archive"),
])
def test_choose_method_refusals(requested, local, body, message):
    with pytest.raises(PlanError) as error:
        seed_decision.choose_method(requested, local, plan(body).source)
    assert str(error.value) == message


def test_helper_images():
    assert seed_decision.helper_candidates(plan("{from: ./m}"), DOCUMENT) == ["jupyter:1", "api:1"]
    assert seed_decision.fallback_helper(["x:1", "reg.io/lib/alpine:3", "mlstack-test/busybox:1"]) == "mlstack-test/busybox:1"
    assert seed_decision.fallback_helper(["busyboxish:1"]) is None


# --- fingerprints and streams on a real directory ----------------------------------------------

def make_tree(root) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.bin").write_bytes(b"x" * 1000)
    (root / "sub" / "b.txt").write_text("hello")
    (root / "sub" / "deeper" / "c").write_bytes(b"")
    (root / "link").symlink_to("a.bin")
    os.mkfifo(root / "pipe")


def test_scan_lists_files_and_links(tmp_path):
    make_tree(tmp_path)
    files, total = sources.scan(str(tmp_path), "pre")
    assert sorted(files) == ["pre/a.bin", "pre/link", "pre/sub/b.txt", "pre/sub/deeper/c"]
    assert files["pre/link"] == ["link", "a.bin"]
    assert files["pre/a.bin"] == [1000, os.stat(tmp_path / "a.bin").st_mtime_ns]
    assert total == 1005
    followed, _ = sources.scan(str(tmp_path), follow_links=True)
    assert followed["link"][0] == 1000


def test_scan_notices_a_touch(tmp_path):
    make_tree(tmp_path)
    before = Fingerprint("d", sources.scan(str(tmp_path))[0], 0).digest
    os.utime(tmp_path / "sub" / "b.txt", ns=(1, 1))
    assert Fingerprint("d", sources.scan(str(tmp_path))[0], 0).digest != before


def test_scanning_ten_thousand_files_is_fast(tmp_path):
    for directory in range(100):
        (tmp_path / f"d{directory}").mkdir()
        for name in range(100):
            (tmp_path / f"d{directory}" / f"f{name}").write_bytes(b"")
    best = min(_timed(lambda: sources.scan(str(tmp_path))) for _ in range(3))
    assert len(sources.scan(str(tmp_path))[0]) == 10_000
    assert best < 0.3, f"fingerprinting 10,000 files took {best * 1000:.0f} ms"


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def test_tar_stream_round_trip(tmp_path):
    make_tree(tmp_path)
    declared = plan(f"{{from: {tmp_path}, subpath: x/y}}")
    resolved = sources.resolve(declared, lambda ref: None)
    seen: list[int] = []
    body = sources.TarBody(resolved, "stage/data", None, seen.append, {"stage/control/env": b"A=1\n"})
    data = collect(body)
    assert len(data) == len(body)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = {member.name: member for member in archive.getmembers()}
        assert list(members) == ["stage", "stage/data", "stage/data/x", "stage/data/x/y", "stage/data/x/y/a.bin",
                                   "stage/data/x/y/link", "stage/data/x/y/sub", "stage/data/x/y/sub/b.txt",
                                   "stage/data/x/y/sub/deeper", "stage/data/x/y/sub/deeper/c", "stage/control/env"]
        assert archive.extractfile("stage/data/x/y/sub/b.txt").read() == b"hello"
        assert members["stage/data/x/y/link"].linkname == "a.bin"
        assert {(m.uid, m.gid) for name, m in members.items() if name.startswith("stage/data")} == {(1000, 100)}
        assert archive.extractfile("stage/control/env").read() == b"A=1\n"
    assert seen[-1] == 1005
    only = collect(sources.TarBody(resolved, "s", ["x/y/sub/b.txt"], lambda done: None))
    with tarfile.open(fileobj=io.BytesIO(only)) as archive:
        assert [m.name for m in archive.getmembers() if m.isfile()] == ["s/x/y/sub/b.txt"]


def collect(chunks) -> bytes:
    """As the HTTP layer does: each chunk used before the next is asked for."""
    return b"".join(bytes(chunk) for chunk in chunks)


def test_tar_stream_of_files_larger_than_its_buffer(tmp_path):
    contents = {f"f{index}": os.urandom(sources.CHUNK + 1000 * index) for index in range(3)}
    for name, content in contents.items():
        (tmp_path / name).write_bytes(content)
    resolved = sources.resolve(plan(f"{{from: {tmp_path}}}"), lambda ref: None)
    body = sources.TarBody(resolved, "d", None, lambda done: None)
    data = collect(body)
    assert len(data) == len(body)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        assert {name: archive.extractfile(f"d/{name}").read() for name in contents} == contents


def test_resolve_reports_missing_sources(tmp_path):
    with pytest.raises(SeedError, match=r"volumes.hf-cache.seed: seed source .*/nope does not exist"):
        sources.resolve(plan(f"{{from: {tmp_path}/nope}}"), lambda ref: None)
    with pytest.raises(SeedError, match="image reg/w:1 is not on this engine; mlstack never pulls implicitly"):
        sources.resolve(plan("{image: reg/w:1, path: /m}"), lambda ref: None)


def test_hf_model_resolution_works_offline_and_says_when_it_cannot(tmp_path):
    commit = "c" * 40
    model = tmp_path / "hub" / "models--org--name"
    (model / "blobs").mkdir(parents=True)
    (model / "blobs" / "123").write_text("{}")
    (model / "snapshots" / commit).mkdir(parents=True)
    (model / "snapshots" / commit / "config.json").symlink_to("../../blobs/123")
    (model / "refs").mkdir()
    (model / "refs" / "main").write_text(commit)
    env = {"HOME": "/h", "HF_HOME": str(tmp_path)}
    resolved = sources.resolve(plan("{from: 'hf-cache:org/name'}", env=env), lambda ref: None)
    snapshot = f"hub/models--org--name/snapshots/{commit}"
    assert resolved.subpath == snapshot
    assert resolved.fingerprint.files[f"{snapshot}/config.json"][0] == 2     # the blob, not the link
    assert resolved.extras == {"hub/models--org--name/refs/main": commit.encode()}
    with pytest.raises(SeedError, match=r"model org/other@main: it is not in the local Hugging Face cache .* "
                                        r"downloading it needs the internet: `huggingface-cli download org/other`"):
        sources.resolve(plan("{from: 'hf-cache:org/other'}", env=env), lambda ref: None)


@pytest.mark.parametrize("name, mode, uid, gid, size, mtime, kind, link", [
    ("a/b.bin", 0o644, 1000, 100, 12345, 1_700_000_000, tarfile.REGTYPE, ""),
    ("d", 0o755, 0, 0, 0, 0, tarfile.DIRTYPE, ""),
    ("l", 0o777, 5, 6, 0, 1, tarfile.SYMTYPE, "../x/y"),
    ("é" * 60, 0o600, 1, 1, 1, 1, tarfile.REGTYPE, ""),                  # 120 bytes: a GNU long name
    ("big", 0o644, 1, 1, 9 * 2 ** 30, 1, tarfile.REGTYPE, ""),           # past 8 GiB: base-256 size
])
def test_tar_headers_read_back_as_written(name, mode, uid, gid, size, mtime, kind, link):
    header = sources.tar_header(name, mode, uid, gid, size, mtime, kind, link)
    if len(header) == tarfile.BLOCKSIZE:
        member = tarfile.TarInfo.frombuf(header, "utf-8", "surrogateescape")
    else:  # a GNU long name: an extra header and the name come first
        member = tarfile.open(fileobj=io.BytesIO(header + b"\0" * (tarfile.BLOCKSIZE * 3))).next()
    assert (member.name, member.mode, member.uid, member.gid, member.size, member.mtime, member.type, member.linkname) \
        == (name, mode, uid, gid, size, mtime, kind, link)
