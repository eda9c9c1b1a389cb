"""Versioned team catalogs (docs/catalogs.md): a platform repository publishes fragments under git tags,
a second repository pins one in mlstack.lock, and renders from the cache offline after the first fetch.

The git repositories are local directories (no network); each test has its own cache (MLSTACK_CACHE_DIR).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import write

pytestmark = pytest.mark.git

GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_AUTHOR_NAME": "platform",
           "GIT_AUTHOR_EMAIL": "platform@example.com", "GIT_COMMITTER_NAME": "platform",
           "GIT_COMMITTER_EMAIL": "platform@example.com", "PATH": os.environ["PATH"]}
API_V1 = "x-mlstack: {description: team api}\nservices:\n  web: {image: 'registry.team/web:1.0'}\n"
API_V2 = "x-mlstack: {description: team api}\nservices:\n  web: {image: 'registry.team/web:1.1'}\n"
WORKER = "services:\n  worker: {image: 'registry.team/worker:1.0'}\n"


def git(repository: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repository), *args], env=GIT_ENV, check=True, capture_output=True,
                          text=True).stdout.strip()


def publish(repository: Path, files: dict[str, str], tag: str, removed: tuple[str, ...] = ()) -> str:
    """Commit these files (and delete `removed`) on main and tag the commit (annotated, as releases are)."""
    if not (repository / ".git").is_dir():
        repository.mkdir(parents=True)
        git(repository, "init", "--quiet", "--initial-branch=main")
    write(repository, files)
    for name in removed:
        (repository / name).unlink()
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "--message", tag)
    git(repository, "tag", "--annotate", "--message", f"release {tag}", tag)
    return git(repository, "rev-parse", "HEAD")


@pytest.fixture
def platform(tmp_path) -> Path:
    """The platform team's catalog repository: v1.0.0 (api), then v1.1.0 (api changed, worker added)."""
    repository = tmp_path / "platform"
    publish(repository, {"stacks/api.yaml": API_V1, "README.md": "fragments\n"}, "v1.0.0")
    publish(repository, {"stacks/api.yaml": API_V2, "stacks/worker.yaml": WORKER}, "v1.1.0")
    return repository


@pytest.fixture
def consumer(tmp_path, platform) -> Path:
    return write(tmp_path / "app", {"mlstack.yaml": (
        "name: app\n"
        "catalogs:\n"
        f"  - {{git: 'file://{platform}', rev: v1.0.0, path: stacks, name: team}}   # the platform's fragments\n"
        "fragments: [team/api]\n")})


@pytest.fixture
def cli(mlstack, tmp_path):
    """mlstack with this test's own cache (the catalogs and the render cache)."""
    cache = tmp_path / "cache"

    def run(*args: str, cwd: Path | None = None):
        return mlstack(*args, cwd=cwd or tmp_path / "app", env={"MLSTACK_CACHE_DIR": str(cache)})

    run.cache = cache
    return run


def tree_of(cache: Path, lock: str) -> Path:
    return cache / "catalogs" / "trees" / re.search(r"commit: ([0-9a-f]{40})", lock).group(1)


def test_a_second_repository_consumes_the_catalog_pinned_by_tag_offline_after_the_first_fetch(cli, consumer, platform):
    before = cli("render")
    assert before.code == 8
    assert before.err.splitlines()[0] == ("mlstack.yaml:3:5: catalogs[0]: catalog 'team' is not pinned in mlstack.lock: "
                                          "run `mlstack catalog fetch`")

    fetched = cli("catalog", "fetch")
    assert fetched.code == 0, fetched.err
    commit = git(platform, "rev-parse", "v1.0.0^{commit}")
    assert fetched.out == f"team: pinned v1.0.0 ({commit[:7]})\n"
    lock = (consumer / "mlstack.lock").read_text()
    assert f"    commit: {commit}\n" in lock
    assert "    rev: v1.0.0\n" in lock and "    path: stacks\n" in lock
    assert re.search(r"      api\.yaml: sha256:[0-9a-f]{64}\n", lock)
    assert "worker.yaml" not in lock   # v1.0.0 has no worker

    shutil.move(platform, platform.with_name("platform-gone"))   # offline from here on
    rendered = cli("render")
    assert rendered.code == 0, rendered.err
    assert "image: registry.team/web:1.0" in rendered.out
    again = cli("catalog", "fetch")
    assert (again.code, again.out) == (0, "every catalog is fetched and matches mlstack.lock\n"), again.err
    assert (consumer / "mlstack.lock").read_text() == lock

    services = cli("services")
    assert services.code == 0, services.err
    assert re.search(rf"^\* api +team api  \[team v1\.0\.0 \({commit[:7]}\)\] \(shadows built-in\)$", services.out, re.MULTILINE), services.out


def test_the_lock_is_deterministic_and_sorted(cli, consumer, tmp_path):
    write(consumer, {"mlstack.yaml": (consumer / "mlstack.yaml").read_text().replace(
        "fragments:", f"  - {{git: '{tmp_path / 'platform'}', rev: v1.1.0, path: stacks, name: another}}\nfragments:")})
    assert cli("catalog", "fetch").code == 0
    first = (consumer / "mlstack.lock").read_text()
    (consumer / "mlstack.lock").unlink()
    shutil.rmtree(cli.cache)
    assert cli("catalog", "fetch").code == 0
    assert (consumer / "mlstack.lock").read_text() == first
    names = re.findall(r"^  (\S+):$", first, re.MULTILINE)
    assert names == ["another", "team"]
    assert first.index("api.yaml") < first.index("worker.yaml")


def test_a_changed_cache_fails_the_render_even_when_it_was_cached_and_fetch_repairs_it_offline(cli, consumer, platform):
    assert cli("catalog", "fetch").code == 0
    assert cli("render").code == 0          # writes the shipped templates: not stored
    assert cli("render").code == 0          # stored in the render cache
    assert any(entry.is_file() and not entry.name.endswith(".call") for entry in cli.cache.iterdir())
    fragment = tree_of(cli.cache, (consumer / "mlstack.lock").read_text()) / "stacks" / "api.yaml"
    assert not os.access(fragment, os.W_OK) or os.geteuid() == 0   # the cache is read-only
    fragment.chmod(fragment.stat().st_mode | stat.S_IWUSR)
    fragment.write_text(API_V1.replace("web:1.0", "web:evil"))

    tampered = cli("render")
    assert tampered.code == 8
    assert tampered.err.splitlines()[0].startswith(
        "mlstack.yaml:4:13: fragments[0]: fragment api.yaml of catalog team v1.0.0 (")
    assert "does not match mlstack.lock" in tampered.err and "run `mlstack catalog fetch`" in tampered.err
    assert "web:evil" not in tampered.out

    shutil.move(platform, platform.with_name("platform-gone"))   # the cached repository holds the commit
    repaired = cli("catalog", "fetch")
    assert repaired.code == 0, repaired.err
    assert "image: registry.team/web:1.0" in cli("render").out


def test_an_edited_lock_is_refused_by_render_and_by_fetch(cli, consumer):
    assert cli("catalog", "fetch").code == 0
    lock = consumer / "mlstack.lock"
    lock.write_text(re.sub(r"api\.yaml: sha256:[0-9a-f]{8}", "api.yaml: sha256:00000000", lock.read_text()))
    rendered = cli("render")
    assert rendered.code == 8 and "fragment api.yaml of catalog team v1.0.0" in rendered.err
    fetched = cli("catalog", "fetch")
    assert fetched.code == 8
    assert re.match(r"mlstack\.yaml:3:5: catalogs\[0\]: mlstack\.lock's hashes for catalog 'team' do not match commit "
                    r"[0-9a-f]{12} \(api\.yaml differs\): the lock was edited; `mlstack catalog update team` pins it anew",
                    fetched.err), fetched.err


def test_a_rev_that_differs_from_the_lock_says_to_fetch(cli, consumer):
    assert cli("catalog", "fetch").code == 0
    definition = consumer / "mlstack.yaml"
    definition.write_text(definition.read_text().replace("rev: v1.0.0", "rev: v1.1.0"))
    rendered = cli("render")
    assert rendered.code == 8
    assert rendered.err.splitlines()[0] == ("mlstack.yaml:3:5: catalogs[0]: catalog 'team' differs from mlstack.lock: "
                                            "rev 'v1.1.0' (locked 'v1.0.0'); run `mlstack catalog fetch` to pin it")
    assert cli("catalog", "fetch").out.startswith("team: v1.0.0 (")
    assert "image: registry.team/web:1.1" in cli("render").out


def test_update_moves_the_pin_to_the_newest_tag_and_shows_what_changed(cli, consumer, platform):
    assert cli("catalog", "fetch").code == 0
    old = git(platform, "rev-parse", "v1.0.0^{commit}")[:7]
    new = git(platform, "rev-parse", "v1.1.0^{commit}")[:7]
    publish(platform, {"stacks/notes.yaml": WORKER}, "v1.1.0-rc9")   # a pre-release sorts before its release
    updated = cli("catalog", "update")
    assert updated.code == 0, updated.err
    assert updated.out == f"team: v1.0.0 ({old}) -> v1.1.0 ({new})\n  changed: api.yaml\n  added: worker.yaml\n"
    definition = (consumer / "mlstack.yaml").read_text()
    assert "rev: v1.1.0, path: stacks, name: team}}   # the platform's fragments\n" in definition.replace("}   #", "}}   #")
    assert "    rev: v1.1.0\n" in (consumer / "mlstack.lock").read_text()
    assert "image: registry.team/web:1.1" in cli("render").out

    publish(platform, {"stacks/api.yaml": API_V1}, "v1.2.0", removed=("stacks/worker.yaml",))
    assert cli("catalog", "update", "team").out.endswith("  changed: api.yaml\n  added: notes.yaml\n  removed: worker.yaml\n")
    assert cli("catalog", "update").out.startswith("team: v1.2.0 (")
    assert "is the newest" in cli("catalog", "update").out


def test_update_of_an_unknown_catalog_is_a_usage_error(cli, consumer):
    run = cli("catalog", "update", "nope")
    assert run.code == 2
    assert run.err.strip().endswith("no versioned catalog named 'nope'; mlstack.yaml has: team")


def test_a_tag_moved_upstream_is_refused(cli, consumer, platform):
    assert cli("catalog", "fetch").code == 0
    shutil.rmtree(cli.cache)   # a new machine: the cache is empty, the lock is committed
    publish(platform, {"stacks/api.yaml": API_V1.replace("1.0", "1.0-hotfix")}, "hotfix")
    git(platform, "tag", "--force", "--annotate", "--message", "moved", "v1.0.0")
    fetched = cli("catalog", "fetch")
    assert fetched.code == 8
    assert re.match(r"mlstack\.yaml:3:5: catalogs\[0\]: tag v1\.0\.0 now names commit [0-9a-f]{12}, mlstack\.lock pins "
                    r"[0-9a-f]{12}: the tag was moved upstream", fetched.err), fetched.err


@pytest.mark.parametrize("url, said", [
    ("/nonexistent/platform", "cannot fetch /nonexistent/platform: "),
    ("file:///nonexistent/platform", "cannot fetch file:///nonexistent/platform: "),
])
def test_a_git_failure_is_one_located_line(cli, consumer, url, said):
    write(consumer, {"mlstack.yaml": f"name: app\ncatalogs:\n  - {{git: '{url}', rev: v1, name: team}}\nfragments: [team/api]\n"})
    run = cli("catalog", "fetch")
    assert run.code == 8
    assert run.err.splitlines()[0].startswith(f"mlstack.yaml:3:5: catalogs[0]: {said}"), run.err
    assert "Traceback" not in run.err and not (consumer / "mlstack.lock").exists()


def test_a_rev_the_repository_lacks(cli, consumer, platform):
    write(consumer, {"mlstack.yaml": (consumer / "mlstack.yaml").read_text().replace("v1.0.0", "v9")})
    run = cli("catalog", "fetch")
    assert run.code == 8
    assert run.err.splitlines()[0] == f"mlstack.yaml:3:5: catalogs[0]: file://{platform} has no tag, branch or commit 'v9'"


def test_unqualified_names_keep_their_order_and_a_qualified_one_picks_the_catalog(cli, consumer):
    write(consumer, {"stacks/api.yaml": "services:\n  web: {image: 'local/web:dev'}\n"})
    definition = consumer / "mlstack.yaml"
    assert cli("catalog", "fetch").code == 0
    definition.write_text(definition.read_text().replace("fragments: [team/api]", "fragments: [api]"))
    assert "image: local/web:dev" in cli("render").out          # the project's stacks/ first
    definition.write_text(definition.read_text().replace("fragments: [api]", "fragments: [team/api]"))
    assert "image: registry.team/web:1.0" in cli("render").out
    definition.write_text(definition.read_text().replace("fragments: [team/api]", "fragments: [team/nope]"))
    missing = cli("render")
    assert missing.code == 1
    assert "fragments[0]: catalog team v1.0.0" in missing.err and "has no fragment 'nope' (it has: api)" in missing.err


def test_a_branch_pin_follows_the_branch_head_on_update(cli, consumer, platform):
    definition = consumer / "mlstack.yaml"
    definition.write_text(definition.read_text().replace("rev: v1.0.0", "rev: main"))
    assert cli("catalog", "fetch").code == 0
    head = git(platform, "rev-parse", "HEAD")
    assert f"commit: {head}" in (consumer / "mlstack.lock").read_text()
    write(platform, {"stacks/api.yaml": API_V1})
    git(platform, "commit", "--quiet", "--all", "--message", "back to 1.0")
    assert cli("catalog", "fetch").out.startswith("every catalog")   # fetch keeps the pin
    updated = cli("catalog", "update")
    assert updated.out.startswith(f"team: main ({head[:7]}) -> main (")
    assert "rev: main" in definition.read_text()


def test_a_path_the_commit_lacks(cli, consumer, platform):
    write(consumer, {"mlstack.yaml": (consumer / "mlstack.yaml").read_text().replace("path: stacks", "path: fragments")})
    run = cli("catalog", "fetch")
    assert run.code == 8
    assert run.err.splitlines()[0] == f"mlstack.yaml:3:5: catalogs[0]: file://{platform} at v1.0.0 has no directory 'fragments'"
