"""The pure parts of versioned catalogs: entries, names, version order, the lock's format, git command lines."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mlstack.core.catalogs import Catalog, CatalogEntry, newest_tag, parse_entries, qualified, version_key
from mlstack.core.load import parse_yaml
from mlstack.core.lockfile import LockedCatalog, read_lock, render_lock
from mlstack.core.model import Origin
from mlstack.engine import git
from mlstack.errors import CatalogError, ExitCode, UsageError
from mlstack.lifecycle.catalog_cache import cache_root
from mlstack.lifecycle.catalog_lock import replace_scalar


def entries(text: str) -> list[CatalogEntry]:
    return parse_entries(parse_yaml(textwrap.dedent(text), "mlstack.yaml").get("catalogs"), Path("/app"), "mlstack.yaml")


def test_the_three_kinds_of_entry_and_their_default_names():
    parsed = entries("""\
        catalogs:
          - ../platform/stacks
          - {git: 'https://git.example.com/team/platform-stacks.git', rev: v1.4.0, path: /stacks/}
          - {git: 'git@example.com:ml/fragments', rev: main, name: ml}
          - {package: team}
        """)
    assert [(e.kind, e.name, e.location, e.rev, e.path) for e in parsed] == [
        ("directory", "", "../platform/stacks", "", ""),
        ("git", "platform-stacks", "https://git.example.com/team/platform-stacks.git", "v1.4.0", "stacks"),
        ("git", "ml", "git@example.com:ml/fragments", "main", ""),
        ("package", "team", "team", "", ""),
    ]
    assert [(e.where, e.origin.line, e.origin.column) for e in parsed][1] == ("catalogs[1]", 3, 5)
    assert (parsed[1].rev_origin.line, parsed[1].rev_origin.column) == (3, 68)


def test_a_name_used_twice_is_a_located_error():
    with pytest.raises(CatalogError) as raised:
        entries("catalogs:\n  - {git: /a/team, rev: v1}\n  - {package: team}\n")
    assert [str(d) for d in raised.value.diagnostics] == [
        "mlstack.yaml:3:5: catalogs[1]: catalog name 'team' is used twice; give one of them `name:`"]
    assert raised.value.exit_code == ExitCode.CATALOG == 8


@pytest.mark.parametrize("tags, newest", [
    (["v1.9.2", "v1.10.0", "v1.2.0"], "v1.10.0"),                  # numbers, not text
    (["v2.0.0-rc1", "v1.9.0"], "v2.0.0-rc1"),
    (["v2.0.0-rc1", "v2.0.0", "v2.0.0-rc2"], "v2.0.0"),            # a release after its pre-releases
    (["1.4", "v1.3.9", "latest", "stable"], "1.4"),               # with or without v; words are no versions
    (["latest", "nightly"], None),
    ([], None),
])
def test_newest_tag_orders_versions_semver_ish(tags, newest):
    assert newest_tag(tags) == newest


def test_version_key_of_a_word_is_none():
    assert version_key("release-candidate") is None
    assert version_key("v1.2.3") < version_key("v1.2.10")


def test_qualified_names_need_a_catalog_of_that_name():
    team = Catalog(CatalogEntry("team", "git", "u", "v1"), Path("/cache/t"), "team v1")
    local = Catalog(CatalogEntry("", "directory", "stacks"), Path("/app/stacks"), "stacks")
    assert qualified("team/api", [local, team]) == (team, "api")
    for text in ("other/api", "./team/api", "team/api.yaml", "team/sub/api", "api", "/api"):
        assert qualified(text, [local, team]) is None, text


LOCK = {
    "team": LockedCatalog("team", "git", "file:///srv/platform", "v1.4.0", "a" * 40, "stacks",
                          {"worker.yaml": "sha256:" + "2" * 64, "api.yaml": "sha256:" + "1" * 64}),
    "extras": LockedCatalog("extras", "package", "team-extras", "", "0.3.1", "", {"gpu.yaml": "sha256:" + "3" * 64}),
}


def test_the_lock_is_sorted_and_reads_back_as_written(tmp_path):
    text = render_lock(LOCK)
    assert text.splitlines()[2:] == [
        "catalogs:",
        "  extras:",
        "    fragments:",
        f"      gpu.yaml: sha256:{'3' * 64}",
        "    package: team-extras",
        "    version: 0.3.1",
        "  team:",
        f"    commit: {'a' * 40}",
        "    fragments:",
        f"      api.yaml: sha256:{'1' * 64}",
        f"      worker.yaml: sha256:{'2' * 64}",
        "    git: file:///srv/platform",
        "    path: stacks",
        "    rev: v1.4.0",
        "version: 1",
    ]
    (tmp_path / "mlstack.lock").write_text(text)
    assert read_lock(tmp_path / "mlstack.lock", "mlstack.lock") == LOCK
    assert render_lock(dict(reversed(list(LOCK.items())))) == text
    assert read_lock(tmp_path / "absent.lock", "absent.lock") == {}


@pytest.mark.parametrize("text, error", [
    ("version: 2\ncatalogs: {}\n", "mlstack.lock:1:10: version: unsupported lock version (this mlstack writes 1)"),
    ("version: 1\ncatalogs: [a]\n", "mlstack.lock:2:11: catalogs: expected a mapping of catalog name to its pin"),
    ("version: 1\ncatalogs:\n  team: {rev: v1}\n", "mlstack.lock:3:9: catalogs.team: expected `git:` or `package:`"),
    ("version: 1\ncatalogs:\n  team: {git: u, rev: v1, path: '', fragments: {}}\n",
     "mlstack.lock:3:9: catalogs.team: missing `commit:`"),
    ("version: 1\ncatalogs:\n  t: {package: p, version: '1', fragments: [a]}\n",
     "mlstack.lock:3:44: catalogs.t.fragments: expected a mapping of file name to sha256"),
])
def test_a_malformed_lock_is_a_located_error(tmp_path, text, error):
    (tmp_path / "mlstack.lock").write_text(text)
    with pytest.raises(CatalogError) as raised:
        read_lock(tmp_path / "mlstack.lock", "mlstack.lock")
    assert [str(d) for d in raised.value.diagnostics] == [error]


@pytest.mark.parametrize("line, column, new_line", [
    ("  - {git: u, rev: v1.4.0, path: stacks}\n", 19, "  - {git: u, rev: v1.5.0, path: stacks}\n"),
    ("    rev: 'v1.4.0'   # pinned\n", 10, "    rev: 'v1.5.0'   # pinned\n"),
    ('    rev: "v1.4.0"\n', 10, '    rev: "v1.5.0"\n'),
])
def test_update_rewrites_only_the_rev_scalar(line, column, new_line):
    text = "name: app\ncatalogs:\n" + line + "fragments: [team/api]\n"
    assert replace_scalar(text, Origin("mlstack.yaml", 3, column), "v1.4.0", "v1.5.0") == \
        "name: app\ncatalogs:\n" + new_line + "fragments: [team/api]\n"


def test_a_rev_that_is_not_where_it_was_read_is_not_guessed():
    with pytest.raises(UsageError, match="cannot rewrite rev 'v1.4.0'"):
        replace_scalar("rev: v1.4.1\n", Origin("mlstack.yaml", 1, 6), "v1.4.0", "v1.5.0")


def test_git_runs_without_user_configuration_or_prompts():
    env = git.clean_environment({"PATH": "/usr/bin", "HOME": "/home/u", "GIT_DIR": "/elsewhere", "EDITOR": "vi"})
    assert env == {"PATH": "/usr/bin", "HOME": "/home/u", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
                   "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": "", "LC_ALL": "C"}


def test_git_command_lines_are_data():
    assert git.fetch("/c/r.git", "file:///srv/p") == [
        "git", "--git-dir", "/c/r.git", "fetch", "--quiet", "--prune", "--no-tags", "file:///srv/p",
        "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
    assert git.resolve("/c/r.git", "-v1") == [
        "git", "--git-dir", "/c/r.git", "rev-parse", "--verify", "--quiet", "--end-of-options", "-v1^{commit}"]
    assert git.archive("/c/r.git", "abc", "/t/x.tar") == [
        "git", "--git-dir", "/c/r.git", "archive", "--format=tar", "--output=/t/x.tar", "abc"]


@pytest.mark.parametrize("env, root", [
    ({"MLSTACK_CACHE_DIR": "/c", "XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/c/catalogs"),
    ({"MLSTACK_CACHE_DIR": "off", "XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/x/mlstack/catalogs"),   # off: the render cache only
    ({"HOME": "/h"}, "/h/.cache/mlstack/catalogs"),
    ({}, None),
])
def test_the_cache_is_the_render_caches_directory(env, root):
    assert cache_root(env) == (Path(root) if root else None)


def test_a_path_out_of_the_repository_is_refused():
    with pytest.raises(CatalogError) as raised:
        entries("catalogs:\n  - {git: /a/team, rev: v1, path: stacks/../../..}\n")
    assert [str(d) for d in raised.value.diagnostics] == [
        "mlstack.yaml:2:35: catalogs[0].path: must stay inside the repository (no ..)"]


def test_a_locked_commit_is_a_commit_id_not_a_path(tmp_path):
    (tmp_path / "mlstack.lock").write_text(
        "version: 1\ncatalogs:\n  t: {git: u, rev: v1, path: '', commit: ../../etc, fragments: {}}\n")
    with pytest.raises(CatalogError) as raised:
        read_lock(tmp_path / "mlstack.lock", "mlstack.lock")
    assert [str(d) for d in raised.value.diagnostics] == [
        "mlstack.lock:3:42: catalogs.t.commit: expected a full commit id (40 or 64 hex digits)"]
