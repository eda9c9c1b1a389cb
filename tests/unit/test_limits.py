"""The bounds of docs/stack-definition.md "Limits": exactly at a bound is accepted, one past it is
refused with a located message, and legitimate aliases keep working with their provenance."""

import textwrap
import time
from pathlib import Path as FsPath

import pytest

from mlstack.core import dotenv, limits, load
from mlstack.core.load import file_problem, parse_yaml, parse_yaml_documents, read_text
from mlstack.core.project import ComposeFile, load_project
from mlstack.errors import StackError


def error_line(text: str, filename: str = "a.yaml") -> str:
    with pytest.raises(StackError) as caught:
        parse_yaml_documents(text, filename)
    return str(caught.value.diagnostics[0])


def nested(levels: int) -> str:
    """A document `levels` nodes deep: the root mapping, then mappings, then one scalar."""
    return "".join("  " * level + f"k{level}:\n" for level in range(levels - 2)) + "  " * (levels - 2) + "v: 1\n"


def test_nesting_up_to_the_limit_is_accepted():
    assert parse_yaml(nested(limits.MAX_DEPTH), "a.yaml").find(("k0", "k1")) is not None


def test_nesting_past_the_limit_is_refused_where_it_goes_too_deep():
    assert error_line(nested(limits.MAX_DEPTH + 1)) == \
        f"a.yaml:{limits.MAX_DEPTH}:{2 * (limits.MAX_DEPTH - 1) + 1}: YAML nested deeper than 64 levels"  # the key `v`


def test_nesting_through_aliases_counts_once_expanded():
    text = "x-0: &l0 [v]\n" + "".join(f"x-{i}: &l{i} [*l{i - 1}]\n" for i in range(1, limits.MAX_DEPTH))
    assert "YAML nested deeper than 64 levels once aliases are expanded" in error_line(text)


def test_node_budget_is_exact(monkeypatch):
    monkeypatch.setattr(limits, "MAX_NODES", 12)
    # root mapping + key + list + 9 items = 12 nodes
    assert parse_yaml("x: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n", "a.yaml").find(("x", 8)).value == 9
    assert error_line("x: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n") == \
        "a.yaml:1:1: YAML expands to more than 12 nodes here (an alias counts again at each use)"


def test_node_budget_covers_every_document_of_a_file(monkeypatch):
    monkeypatch.setattr(limits, "MAX_NODES", 12)
    assert "more than 12 nodes" in error_line("x: [1, 2, 3, 4]\n---\ny: [1, 2, 3, 4]\n")


def test_billion_laughs_is_refused_in_well_under_a_second():
    bomb = "x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"x-{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    start = time.perf_counter()
    assert error_line(bomb) == "a.yaml:6:6: YAML expands to more than 100000 nodes here (an alias counts again at each use)"
    assert time.perf_counter() - start < 0.5


def test_a_large_file_is_counted_before_it_is_composed():
    text = "x: [" + ",".join(["1"] * (limits.MAX_NODES + 10)) + "]\n"
    start = time.perf_counter()
    # nodes: the root mapping, `x`, the list, then items; item 99,998 is node 100,001
    assert error_line(text) == f"a.yaml:1:{2 * limits.MAX_NODES - 1}: more than 100000 YAML nodes in one file"
    assert time.perf_counter() - start < 1.0


def test_an_anchor_containing_itself_is_refused():
    assert error_line("x: &a {b: *a}\n") == "a.yaml:1:4: a YAML anchor contains an alias of itself"


def test_reused_blocks_and_merge_keys_keep_working_with_provenance(tmp_path):
    (tmp_path / "a.yaml").write_text(textwrap.dedent("""\
        x-env: &env
          LOG_LEVEL: info
        x-base: &base
          restart: unless-stopped
          environment: *env
        services:
          web:
            <<: *base
            image: web:1
          worker:
            <<: *base
            image: worker:1
            environment:
              <<: *env
              QUEUE: jobs
        """))
    model = load_project([ComposeFile(tmp_path / "a.yaml", "a.yaml")], {}, tmp_path, "t")
    web, worker = model.root.find(("services", "web")), model.root.find(("services", "worker"))
    assert web.find(("environment",)).to_data() == {"LOG_LEVEL": "info"}
    assert worker.find(("environment",)).to_data() == {"LOG_LEVEL": "info", "QUEUE": "jobs"}
    assert web.find(("restart",)).origin.location() == "a.yaml:4:12"            # the anchored line
    assert worker.find(("environment", "LOG_LEVEL")).origin.location() == "a.yaml:2:14"
    worker.find(("environment",)).value["LOG_LEVEL"].value = "debug"             # each use is its own copy
    assert web.find(("environment", "LOG_LEVEL")).value == "info"


def test_a_utf8_byte_order_mark_is_accepted():
    assert parse_yaml("\ufeffservices: {}\n", "a.yaml").to_data() == {"services": {}}


@pytest.mark.parametrize("raw, expected", [
    (b"a: 1\nb: caf\xe9\n", "a.yaml:2:7: compose file is not UTF-8 text (byte 0xe9: invalid continuation byte)"),
    (b"\xff\xfea\x00", "a.yaml:1:1: compose file is not UTF-8 text (byte 0xff: invalid start byte)"),
])
def test_bytes_that_are_not_utf8_are_located(tmp_path, raw, expected):
    (tmp_path / "a.yaml").write_bytes(raw)
    with pytest.raises(StackError) as caught:
        read_text(tmp_path / "a.yaml", "compose file", display="a.yaml")
    assert str(caught.value.diagnostics[0]) == expected


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x7f", "\x9f", "\ufffe"])
def test_characters_yaml_forbids_are_located(character):
    assert error_line(f"a: 1\nb: cd{character}e\n") == \
        f"a.yaml:2:6: invalid YAML: character U+{ord(character):04X} is not allowed in YAML"


def test_file_problems(tmp_path, monkeypatch):
    (tmp_path / "dir").mkdir()
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "big").write_text("x" * 101)
    (tmp_path / "ok").write_text("x" * 100)
    monkeypatch.setattr(load, "MAX_FILE_BYTES", 100)
    assert file_problem(tmp_path / "ok", "fragment file") is None
    assert file_problem(tmp_path / "big", "fragment file", "big") == "fragment file is 101 bytes, over the 100 bytes limit: big"
    assert file_problem(tmp_path / "missing", "fragment file", "missing") == "fragment file not found: missing"
    assert file_problem(tmp_path / "dir", "fragment file", "dir") == "fragment file is a directory, not a file: dir"
    assert file_problem(tmp_path / "loop", "fragment file", "loop") == "fragment file is a symlink loop: loop"
    assert file_problem(FsPath("/dev/null"), "fragment file", "null") == "fragment file is not a regular file: null"
    assert file_problem(tmp_path / "a\0b", "fragment file", "a\0b") == "fragment file name is not a valid path: 'a\\x00b'"


def test_env_files_refuse_nul():
    with pytest.raises(StackError) as caught:
        dotenv.parse_env("A=1\nB=x\0y\n", "app.env", {})
    assert str(caught.value.diagnostics[0]) == "app.env:2: a NUL character is not allowed in an env file"


def test_extends_across_many_files_loads_each_file_once(tmp_path):
    """8 files of 8 services, each extending the same service of the next file: 8^7 loads unless
    each extended file is loaded once."""
    for number in range(8):
        services = "".join(f"  s{index}:\n    image: x:1\n" + (
            f"    extends: {{file: f{number + 1}.yaml, service: s{index}}}\n" if number < 7 else "")
            for index in range(8))
        (tmp_path / f"f{number}.yaml").write_text("services:\n" + services)
    start = time.perf_counter()
    model = load_project([ComposeFile(tmp_path / "f0.yaml", "f0.yaml")], {}, tmp_path, "t")
    assert time.perf_counter() - start < 1.0
    assert model.root.find(("services", "s7", "image")).origin.location() == "f0.yaml:24:12"


@pytest.mark.parametrize("text, expected", [
    ("18446744073709551615", 2**64 - 1),                      # uint64's largest
    ("-9223372036854775808", -2**63),                          # int64's smallest
    ("0x" + "f" * 16, 2**64 - 1),
    ("0x" + "f" * 17, "0x" + "f" * 17),                        # wider than 64 bits: text, as in Go
    ("0x" + "f" * 5000, "0x" + "f" * 5000),
    ("0o" + "7" * 6000, "0o" + "7" * 6000),
    ("-18446744073709551615", -1.8446744073709552e19),         # not an int64: a float, as in Go
])
def test_integers_are_64_bit_as_in_go(text, expected):
    assert parse_yaml(f"x: {text}\n", "a.yaml").get("x").value == expected


@pytest.mark.parametrize("text, expected", [("1e308", 1e308), ("1e400", "1e400"), ("9" * 400, "9" * 400), (".inf", float("inf"))])
def test_floats_that_overflow_stay_text_as_in_go(text, expected):
    assert parse_yaml(f"x: {text}\n", "a.yaml").get("x").value == expected


def _documents() -> list[str]:
    """Documents around the depth limit: nested mappings, sequences, flow collections, keys at the limit."""
    texts = [nested(limits.MAX_DEPTH + extra) for extra in (-1, 0, 1, 2)]
    for depth in (limits.MAX_DEPTH - 1, limits.MAX_DEPTH, limits.MAX_DEPTH + 1):
        texts += ["[" * depth + "]" * depth, "x: " + "[" * depth + "1" + "]" * depth,
                  "{a: " * depth + "1" + "}" * depth, "- " * depth + "x\n",
                  "a: 1\nb: " + "{k: " * depth + "{}" + "}" * depth + "\nc: [" * 3 + "]" * 3,
                  "[" * (depth - 1) + "{}, [1, [2]]" + "]" * (depth - 1), "x: 1\n---\n" + "[" * depth + "]" * depth]
    return texts


@pytest.mark.parametrize("text", _documents())
def test_a_document_without_aliases_is_held_to_the_depth_as_the_budget_holds_it(text):
    """The shortcut for alias-free files (limits.check_depth) refuses the same node, with the same words."""
    import yaml

    def fail(mark, message):
        return ValueError(f"{mark.line + 1}:{mark.column + 1}: {message}")

    roots = list(yaml.compose_all(text, Loader=load._Loader))
    answers = []
    for check in (lambda: [limits.Budget(fail).measure(root) for root in roots if root is not None],
                  lambda: limits.check_depth(roots, fail)):
        try:
            check()
            answers.append(None)
        except ValueError as error:
            answers.append(str(error))
    assert limits.without_aliases_within_budget(text)
    assert answers[0] == answers[1]
