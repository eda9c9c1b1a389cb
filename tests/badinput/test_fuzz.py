"""Fuzzing load -> merge -> validate -> render, and the mlstack.yaml loader: whatever the input,
only mlstack's own errors (MlstackError) may come out. Derandomized, with a bounded number of
examples, so CI runs the same inputs every time. To search further locally: FUZZ_EXAMPLES=5000
and FUZZ_RANDOM=1 (new inputs on each run).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlstack.core.dotenv import parse_env
from mlstack.core.pipeline import build
from mlstack.core.stack import builtin_dir, load_stack
from mlstack.errors import MlstackError

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=not os.environ.get("FUZZ_RANDOM"), deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
STACK = "name: t\nfragments: [./a.yaml]\nprofiles: {bare: {overrides: [./o.yaml]}}\n"
DIFFERENTIAL = Path(__file__).resolve().parents[1] / "golden" / "differential"
SEEDS = (sorted(builtin_dir("stacks").glob("*.yaml")) + sorted(builtin_dir("overrides").glob("*.yaml"))
         + sorted(DIFFERENTIAL.glob("*/[0-9].yaml")))

SERVICE_KEYS = ["image", "build", "ports", "environment", "volumes", "depends_on", "extends", "command",
                "entrypoint", "healthcheck", "deploy", "networks", "labels", "env_file", "secrets", "configs",
                "profiles", "restart", "shm_size", "working_dir", "user", "x-mlstack", "gpus", "devices",
                "context", "file", "service", "target", "source", "type", "condition", "test", "interval"]
TOP_KEYS = ["services", "volumes", "networks", "secrets", "configs", "include", "name", "x-mlstack", "version"]
STACK_KEYS = ["name", "fragments", "catalogs", "profiles", "extends", "overrides", "env_files", "variables",
              "gpu", "images", "volumes", "seed", "from", "seeding", "method", "x-notes"]
ODD_TEXT = ["$", "${", "${A", "${A:-x}", "${A:?}", "$$", "${A:-${B}}", "}", "b.yaml", "../b.yaml", "web",
            "x:1", "80:80", "8080-8090:80/udp", "./data:/data:ro", "1.5g", "10s", "0755", "true", "~", "",
            "a=b", "service:web", ".", "/", "!reset", "\t", "é", "\u2028", "KEY", "b.env"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**80, 2**80), st.floats(allow_nan=False),
                    st.sampled_from(ODD_TEXT), st.text(max_size=12))


def trees(keys: list[str]):
    """Nested mappings and lists whose keys are mostly the schema's own, with odd scalars inside."""
    names = st.one_of(st.sampled_from(keys), st.sampled_from(["web", "db", "base", "a", "x-y"]), st.text(max_size=6))
    return st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(names, inner, max_size=5)), max_leaves=25)


def compose_trees():
    service = st.dictionaries(st.sampled_from(SERVICE_KEYS), trees(SERVICE_KEYS), max_size=5)
    services = st.dictionaries(st.sampled_from(["web", "db", "base", "gpu"]), st.one_of(service, SCALARS), max_size=3)
    return st.fixed_dictionaries({"services": services},
                                 optional={key: trees(SERVICE_KEYS) for key in TOP_KEYS if key != "services"})


@st.composite
def yaml_texts(draw, data):
    """A dumped tree, then YAML's own syntax spliced in: tags, anchors, aliases, merge keys."""
    text = yaml.safe_dump(draw(data), default_flow_style=draw(st.booleans()), allow_unicode=True)
    lines = text.splitlines()
    for _ in range(draw(st.integers(0, 3))):
        if not lines:
            break
        index = draw(st.integers(0, len(lines) - 1))
        splice = draw(st.sampled_from([": !reset", ": !override", ": &a", ": *a", "<<: *a", "- *a", ": !reset []",
                                       ": &a {b: 1}", "<<: [*a]", ": !!str", ": !bogus", "\t", "---", "? [x]"]))
        line = lines[index]
        lines[index] = line.replace(":", splice, 1) if ":" in line and splice.startswith(":") else line + " " + splice
    return "\n".join(lines) + "\n"


@st.composite
def mutated_seeds(draw):
    """A real fragment or override with a few bytes changed, cut, doubled or swapped."""
    data = bytearray(draw(st.sampled_from(SEEDS)).read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "double"]))
        if kind == "flip" and data:
            data[at] = draw(st.sampled_from(b"\x00\t\n :-[]{}&*!$'\"#|>%@`\xff\xc3"))
        elif kind == "cut":
            del data[at:at + draw(st.integers(1, 40))]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from([b"&x ", b"*x", b"!reset ", b"<<: *x\n", b"${", b"  ", b"\n- ", b"~", b" 0x" + b"f" * 40, b" 1e400"]))
        else:
            data[at:at] = data[at:at + draw(st.integers(1, 80))]
    return bytes(data)


def render(files: dict[str, bytes | str], profile: str = "bare") -> None:
    """Write a stack and render its `bare` profile; only MlstackError may come out."""
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        for name, content in {"mlstack.yaml": STACK, "o.yaml": "", **files}.items():
            (directory / name).write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        try:
            stack = load_stack(directory / "mlstack.yaml", directory)
            build(stack, profile, {"MLSTACK_FUZZ": "1"}).text(directory)
        except MlstackError:
            pass


@FUZZ
@given(yaml_texts(compose_trees()), yaml_texts(compose_trees()))
def test_random_fragments_and_overrides(fragment, other):
    render({"a.yaml": fragment, "b.yaml": other, "o.yaml": other})


@FUZZ
@given(yaml_texts(compose_trees()), st.sampled_from(["include: [b.yaml]\n", "include: [{path: b.yaml, env_file: b.env}]\n", ""]),
       st.sampled_from(["", "A=${B:-x}\nB='1'\n", "bad line\n", "C=\"open\n"]))
def test_random_includes_and_extends(other, include, env_text):
    fragment = include + "services:\n  web:\n    image: x:1\n    extends: {file: b.yaml, service: base}\n"
    render({"a.yaml": fragment, "b.yaml": other, "b.env": env_text})


@FUZZ
@given(mutated_seeds(), mutated_seeds(), st.booleans())
def test_mutated_real_files(mutated, other, as_override):
    seed_fragment = (builtin_dir("stacks") / "redis.yaml").read_bytes()
    files = {"a.yaml": seed_fragment, "o.yaml": mutated} if as_override else {"a.yaml": mutated, "o.yaml": other}
    render({**files, "b.yaml": other, "base.yaml": other, "common.yaml": other})


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("AB_=:'\"\\#$${}-?+ \t\nxé\r.")), max_size=60), st.booleans())
def test_random_env_files(text, environment_has_a):
    try:
        parse_env(text, "app.env", {"A": "1"} if environment_has_a else {})
    except MlstackError:
        pass


@FUZZ
@given(yaml_texts(st.dictionaries(st.sampled_from(STACK_KEYS), trees(STACK_KEYS), max_size=6)))
def test_random_stack_definitions(stack_text):
    render({"mlstack.yaml": stack_text, "a.yaml": "services:\n  web:\n    image: x:1\n"}, "dev")


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{},&*!<>|'\"#$%@`?~\t\n \\.0\x00\x85\u2028é")), max_size=120))
def test_random_characters(text):
    render({"a.yaml": text})
    render({"mlstack.yaml": text})
