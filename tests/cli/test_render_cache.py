"""The validated-render cache (mlstack.cli.replay): a render is replayed only while every input is
as it was; any change to an input is a miss, and the render runs.

Each case stores a render, marks the stored output (so that a replay shows), changes one input and renders
again: `replayed` says whether the marked output came back.
"""

from __future__ import annotations

import marshal
import shutil
import time
from pathlib import Path

import pytest

from tests.cli.conftest import write

MARK = "# replayed from the cache\n"
STACK = {
    "mlstack.yaml": "name: shop\nfragments: [./web.yaml]\nprofiles:\n  dev: {overrides: [./dev.yaml]}\n",
    "web.yaml": "services:\n  web:\n    image: nginx:${TAG:-1.27}\n    environment: {GREETING: '${GREETING:-hello}'}\n",
    "dev.yaml": "services:\n  web:\n    ports: ['127.0.0.1:8080:80']\n",
}


def entries(cache: Path) -> list[Path]:
    """The stored outputs."""
    return sorted(path for path in cache.iterdir() if not path.name.startswith(".")) if cache.is_dir() else []


def mark_entries(cache: Path) -> None:
    for path in entries(cache):
        entry = marshal.loads(path.read_bytes())
        entry["stdout"] = MARK
        path.write_bytes(marshal.dumps(entry))


@pytest.fixture
def cached(mlstack, tmp_path):
    """Render ARGS in the stack directory with a cache of this test's own."""
    cache = tmp_path / "cache"
    stack = write(tmp_path / "stack", STACK)

    def render(*args: str, env: dict | None = None, cwd: Path | None = None):
        return mlstack("render", *args, cwd=cwd or stack, env={"MLSTACK_CACHE_DIR": str(cache), **(env or {})})

    def store(*args: str, env: dict | None = None, cwd: Path | None = None):
        """Render twice (the first render in a directory writes .mlstack/templates, so is not stored), then
        mark the stored output."""
        render(*args, env=env, cwd=cwd)
        assert render(*args, env=env, cwd=cwd).code == 0
        assert len(entries(cache)) == 1
        mark_entries(cache)

    def fresh(*args: str, env: dict | None = None, cwd: Path | None = None):
        return mlstack("render", *args, cwd=cwd or stack, env={"MLSTACK_CACHE_DIR": "off", **(env or {})})

    render.cache, render.stack, render.store, render.fresh = cache, stack, store, fresh
    return render


def _edit(name: str, text: str):
    return lambda stack: (stack / name).write_text(text)


CHANGES = [
    ("a fragment", _edit("web.yaml", STACK["web.yaml"].replace("nginx", "httpd"))),
    ("an override", _edit("dev.yaml", STACK["dev.yaml"].replace("8080", "8081"))),
    ("the stack definition", _edit("mlstack.yaml", STACK["mlstack.yaml"].replace("shop", "store"))),
    ("an env file appears", _edit(".env", "TAG=1.28\n")),
    ("the shipped templates are deleted", lambda stack: shutil.rmtree(stack / ".mlstack" / "templates")),
]


def test_an_unchanged_render_is_replayed_as_it_was_written(cached, tmp_path):
    empty = tmp_path / "empty"   # the built-in default stack: its prod render has notes for stderr
    empty.mkdir()
    first, second, third = (cached("--profile", "prod", cwd=empty) for _ in range(3))
    assert first.code == 0 and "the deploy host must provide" in first.err   # notes on stderr, replayed too
    assert (first.out, first.err) == (second.out, second.err) == (third.out, third.err)
    assert len(entries(cached.cache)) == 1
    mark_entries(cached.cache)
    assert cached("--profile", "prod", cwd=empty).out == MARK


def test_new_dev_secrets_are_a_miss(cached, tmp_path):
    empty = tmp_path / "empty"   # the built-in default stack: its dev profile reads generated secrets
    empty.mkdir()
    cached.store("--profile", "dev", cwd=empty)
    write(empty, {".mlstack/dev-secrets.env": "JUPYTER_TOKEN=abc\nPOSTGRES_PASSWORD=def\n"})
    again = cached("--profile", "dev", cwd=empty)
    assert again.out == cached.fresh("--profile", "dev", cwd=empty).out
    assert "abc" in again.out


@pytest.mark.parametrize("change", [change for _, change in CHANGES], ids=[name for name, _ in CHANGES])
def test_any_change_to_an_input_file_is_a_miss(cached, change):
    cached.store("--profile", "dev")
    change(cached.stack)
    again = cached("--profile", "dev")
    assert again.code == 0, again.err
    assert (again.out, again.err) == (cached.fresh("--profile", "dev").out, cached.fresh("--profile", "dev").err)
    assert (cached.stack / ".mlstack" / "templates" / "api" / "Dockerfile").is_file()


@pytest.mark.parametrize("env, args", [
    ({"GREETING": "hi"}, ()),                      # a variable the files interpolate
    ({"UNRELATED": "1"}, ()),                      # any variable: the whole environment is the key
    ({}, ("--format", "json")),                    # other arguments
    ({}, ("--gpu", "off")),
], ids=["interpolated-variable", "other-variable", "format", "gpu"])
def test_another_environment_or_other_arguments_are_a_miss(cached, env, args):
    cached.store("--profile", "dev")
    assert cached("--profile", "dev", *args, env=env).out == cached.fresh("--profile", "dev", *args, env=env).out


def test_another_working_directory_is_a_miss(cached):
    cached.store("-f", str(cached.stack / "mlstack.yaml"), "--profile", "dev")
    elsewhere = cached.stack.parent / "elsewhere"
    elsewhere.mkdir()
    assert cached("-f", str(cached.stack / "mlstack.yaml"), "--profile", "dev", cwd=elsewhere).out != MARK


@pytest.mark.parametrize("args, env", [
    (("--profile", "dev", "-o", "out.yaml"), {}),          # it writes a file: not replayable
    (("--profile", "nope"), {}),                            # it fails
    (("--profile", "dev", "--debug"), {}),                  # --debug always runs
    (("--profile", "dev"), {"MLSTACK_CACHE_DIR": "off"}),   # the cache turned off
], ids=["out-file", "failure", "debug", "off"])
def test_what_is_never_stored(cached, args, env):
    cached(*args, env=env)
    cached(*args, env=env)
    assert entries(cached.cache) == []


def test_a_render_that_created_the_templates_is_stored_by_the_next(cached):
    cached("--profile", "dev")          # the first render in a directory writes .mlstack/templates
    assert entries(cached.cache) == []
    cached("--profile", "dev")
    assert len(entries(cached.cache)) == 1


@pytest.mark.parametrize("args", [("--help",), ("render", "--help"), ("up", "--profile", "dev", "--help")])
def test_a_help_text_is_replayed_as_click_printed_it(mlstack, tmp_path, args):
    cache = tmp_path / "cache"
    runs = [mlstack(*args, env={"MLSTACK_CACHE_DIR": str(cache)}) for _ in range(2)]
    fresh = mlstack(*args, env={"MLSTACK_CACHE_DIR": "off"})
    assert all((run.code, run.out, run.err) == (0, fresh.out, fresh.err) for run in runs)
    assert len(entries(cache)) == 1
    mark_entries(cache)
    assert mlstack(*args, env={"MLSTACK_CACHE_DIR": str(cache)}).out == MARK


@pytest.mark.parametrize("args", [("exec", "api", "sh", "--help"), ("status", "--profile")])
def test_commands_that_run_and_usage_errors_are_never_stored(mlstack, tmp_path, args):
    cache = tmp_path / "cache"
    mlstack(*args, env={"MLSTACK_CACHE_DIR": str(cache), "DOCKER_HOST": "unix:///nonexistent.sock"})
    assert entries(cache) == []


def test_after_an_edit_the_render_runs_again_without_typer(cached):
    imports = {"PYTHONPROFILEIMPORTTIME": "1"}   # the environment is part of the key: the same for all three
    cached.store("--profile", "dev", "--format", "json", env=imports)
    (cached.stack / "web.yaml").write_text(STACK["web.yaml"].replace("nginx", "httpd"))
    again = cached("--profile", "dev", "--format", "json", env=imports)
    fresh = cached.fresh("--profile", "dev", "--format", "json", env=imports)
    assert again.code == 0 and again.out == fresh.out and '"image": "httpd:1.27"' in again.out
    assert "| typer" not in again.err and "| typer" not in fresh.err   # cli.arguments read the line
    through_typer = cached.fresh("--profile", "dev", "--format", "json", "--debug", env=imports)
    assert through_typer.out == fresh.out and "| typer" in through_typer.err


def test_a_failing_render_fails_without_typer_as_it_does_through_typer(cached):
    (cached.stack / "web.yaml").write_text("services: [not, a, mapping]\n")
    fresh, through_typer = cached.fresh("--profile", "dev"), cached.fresh("--profile", "dev", "--debug")
    assert (fresh.code, fresh.out, fresh.err) == (through_typer.code, through_typer.out, through_typer.err) != (0, "", "")


@pytest.mark.parametrize("changes", ["nothing", "the file"])
def test_an_input_changed_while_the_render_ran_is_not_stored(tmp_path, changes):
    """A file read during the run is hashed when the run is stored, and only if its status is still what it
    was when it was opened: a file another process changed in between leaves nothing in the cache."""
    import subprocess
    import sys

    from mlstack.cli import replay

    cache, source = tmp_path / "cache", tmp_path / "web.yaml"
    source.write_text("services: {}\n")
    with replay.Recording(["render"], {"MLSTACK_CACHE_DIR": str(cache)}, replayable=True):
        with open(source, encoding="utf-8") as stream:
            stream.read()
        if changes == "the file":   # as an editor would, from outside this process
            subprocess.run([sys.executable, "-c", f"open({str(source)!r}, 'w').write('services: {{web: {{}}}}\\n')"],
                           check=True)
    stored = entries(cache)

    assert len(stored) == (1 if changes == "nothing" else 0)
    if stored:
        observed = dict(((kind, path), seen) for kind, path, seen in marshal.loads(stored[0].read_bytes())["observations"])
        assert observed[("read", str(source))] == replay._observe("read", str(source))   # the content's hash


def test_the_code_observed_is_each_module_the_run_imported_and_the_listing_of_their_directories(tmp_path):
    """A change to a module the render imported is a miss, and so is a module added beside one (a package `x/`
    would come before `x.py`); byte code is not observed (it follows its source), the shipped templates a render
    reads as any input."""
    import types

    from mlstack.cli import replay

    package = write(tmp_path / "mlstack", {"__init__.py": "", "core/__init__.py": "", "core/load.py": "x = 1\n",
                                           "core/__pycache__/load.cpython-311.pyc": "", "cli/replay.py": ""})
    modules = {name: types.SimpleNamespace(__file__=str(package / path))
               for name, path in [("mlstack", "__init__.py"), ("mlstack.core", "core/__init__.py"),
                                  ("mlstack.core.load", "core/load.py")]}
    modules["yaml"] = types.SimpleNamespace(__file__=str(tmp_path / "yaml.py"))   # not mlstack's

    observed = replay._code_observations(modules)

    assert [(kind, Path(path).relative_to(package).as_posix()) for kind, path, _ in observed] == [
        ("stat", "__init__.py"), ("stat", "core/__init__.py"), ("stat", "core/load.py"), ("list", "."), ("list", "core")]
    assert replay._unchanged(observed)
    (package / "cli" / "replay.py").write_text("changed = True\n")    # not imported by the run
    (package / "core" / "__pycache__" / "load.cpython-311.pyc").write_text("other byte code")
    assert replay._unchanged(observed)
    (package / "core" / "load.py").write_text("x = 22\n")
    assert not replay._unchanged(observed)
    observed = replay._code_observations(modules)
    (package / "core" / "store.py").write_text("")
    assert not replay._unchanged(observed)


@pytest.mark.parametrize("age", ["changed long before", "changed just now"])
def test_a_file_read_is_known_by_its_status_unless_it_changed_just_before_it_was_read(tmp_path, monkeypatch, age):
    """Its change time moves with any write, and no program can set it back: a file whose last change is older
    than the recording is known by its status; one changed within RACY_NS of it, by its content as well."""
    from mlstack.cli import replay

    if age == "changed long before":   # as if the recording began an hour after the file was written
        monkeypatch.setattr(replay, "RACY_NS", -3600 * 10**9)
    cache, source = tmp_path / "cache", tmp_path / "web.yaml"
    source.write_text("services: {}\n")
    with replay.Recording(["render"], {"MLSTACK_CACHE_DIR": str(cache)}, replayable=True):
        with open(source, encoding="utf-8") as stream:
            stream.read()
    observations = marshal.loads(entries(cache)[0].read_bytes())["observations"]
    kinds = {kind for kind, path, _ in observations if path == str(source)}

    assert kinds == ({"file"} if age == "changed long before" else {"read"})
    assert replay._unchanged(observations)
    time.sleep(0.05)   # past the file system clock's tick (a jiffy): the faked age above is not a real one
    source.write_text("services: {}\n")   # the same content again, so the same size: the change time tells
    assert replay._unchanged(observations) == (age == "changed just now")


def test_the_cache_keeps_the_newest_entries(tmp_path, monkeypatch):
    from mlstack.cli import replay

    monkeypatch.setattr(replay, "ENTRIES", 2)
    cache = tmp_path / "cache"
    for number in range(4):
        with replay.Recording(["render", str(number)], {"MLSTACK_CACHE_DIR": str(cache)}, replayable=True):
            pass
        time.sleep(0.01)   # distinct modification times
    kept = {replay.invocation_key(["render", str(number)], {"MLSTACK_CACHE_DIR": str(cache)}) for number in (2, 3)}

    assert {path.name for path in entries(cache)} == kept


def test_a_directory_changed_while_the_render_ran_is_a_miss_when_next_looked_up(tmp_path):
    """An observation is stored as the run made it (what it acted on): a change after it is a miss, as any is."""
    import os
    import subprocess
    import sys

    from mlstack.cli import replay

    cache, folder = tmp_path / "cache", tmp_path / "fragments"
    folder.mkdir()
    with replay.Recording(["render"], {"MLSTACK_CACHE_DIR": str(cache)}, replayable=True):
        os.listdir(folder)
        subprocess.run([sys.executable, "-c", f"open({str(folder / 'new.yaml')!r}, 'w')"], check=True)   # another process
    observations = marshal.loads(entries(cache)[0].read_bytes())["observations"]

    assert ("list", str(folder), ()) in observations
    assert not replay._unchanged(observations)


def test_a_file_read_is_looked_at_through_the_file_opened_and_a_fifo_does_not_hold_the_lookup_up(tmp_path):
    """Its status comes from the file opened (NFS revalidates attributes at open, not at stat), non-blocking."""
    import os

    from mlstack.cli import replay

    source, fifo = tmp_path / "web.yaml", tmp_path / "pipe"
    source.write_text("services: {}\n")
    os.mkfifo(fifo)
    started = time.monotonic()

    assert replay._observe("file", str(source)) == replay._stat_or_none(str(source))
    assert replay._unchanged([("file", str(fifo), replay._stat_or_none(str(source)))]) is False
    assert time.monotonic() - started < 5
