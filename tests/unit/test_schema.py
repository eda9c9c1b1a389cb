"""The schema validator: its words (table), its verdict (against jsonschema), its schema (drift)."""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mlstack.core.lint import lint
from mlstack.core.lint_model import LintInput
from mlstack.core.load import parse_yaml
from mlstack.core.model import Origin, from_data
from mlstack.core.schema import compiled_schema, schema_document, validate
from mlstack.core.schema_keywords import SUPPORTED_KEYWORDS
from mlstack.core.validate import check
from mlstack.errors import StackError

ROOT = Path(__file__).resolve().parents[2]


def problems(text: str, schema: str = "compose") -> list[str]:
    root = parse_yaml(textwrap.dedent(text), f"{schema}.yaml")
    return [str(diagnostic) for diagnostic in validate(root, schema)]


# --- (a) what the user reads --------------------------------------------------------------------
CASES = [
    ("valid", "compose", """
        services:
          web:
            image: nginx:1.27
            ports: ["8080:80", {target: 443, published: "8443"}]
            x-note: extensions are allowed
        x-common: {}
     """, []),
    ("typo in a service key", "compose", """
        services:
          web:
            imagee: nginx
     """, ['compose.yaml:4:13: services.web: unknown key "imagee" (did you mean "image"?)']),
    ("typo at the top", "compose", """
        servics: {}
     """, ['compose.yaml:2:10: unknown key "servics" (did you mean "services"?)']),
    ("unknown key, nothing close", "compose", """
        services:
          web:
            image: nginx
            zzz: 1
     """, ['compose.yaml:5:10: services.web: unknown key "zzz"']),
    ("service name", "compose", """
        services:
          my web: {image: nginx}
     """, ['compose.yaml:3:11: services: invalid key "my web": keys must match ^[a-zA-Z0-9._-]+$']),
    ("port of no allowed type", "compose", """
        services:
          web:
            ports:
              - [8080, 80]
     """, ["compose.yaml:5:9: services.web.ports[0]: expected a number, a string or a mapping, got a list"]),
    ("port mapping with an unknown key", "compose", """
        services:
          web:
            ports:
              - {target: 80, publish: "8080"}
     """, ['compose.yaml:5:31: services.web.ports[0]: unknown key "publish" (did you mean "published"?)']),
    ("wrong scalar type", "compose", """
        services:
          web:
            image: 5
     """, ["compose.yaml:4:12: services.web.image: expected a string, got an integer"]),
    ("empty value where a string is needed", "compose", """
        services:
          web:
            image:
     """, ["compose.yaml:4:11: services.web.image: expected a string, got null"]),
    ("enum", "compose", """
        services:
          web:
            image: nginx
            cgroup: sometimes
     """, ['compose.yaml:5:13: services.web.cgroup: "sometimes" is not one of: host, private']),
    ("enum of one", "compose", """
        services:
          web:
            image: nginx
            gpus: some
     """, ['compose.yaml:5:11: services.web.gpus: expected "all", got "some"']),
    ("enum inside a oneOf branch", "compose", """
        services:
          web:
            image: nginx
            depends_on:
              db: {condition: healthy}
     """, ['compose.yaml:6:23: services.web.depends_on.db.condition: "healthy" is not one of: '
           'service_started, service_healthy, service_completed_successfully']),
    ("minimum in the matching branch", "compose", """
        services:
          web:
            image: nginx
            cpu_count: -1
     """, ["compose.yaml:5:16: services.web.cpu_count: must be at least 0, got -1"]),
    ("maximum", "compose", """
        services:
          web:
            image: nginx
            oom_score_adj: 2000
     """, ["compose.yaml:5:20: services.web.oom_score_adj: must be at most 1000, got 2000"]),
    ("pattern", "compose", """
        services:
          web:
            image: nginx
            pull_policy: sometimes
     """, ['compose.yaml:5:18: services.web.pull_policy: "sometimes" does not match '
           '^(always|never|build|if_not_present|missing|refresh|daily|weekly|every_([0-9]+[wdhms])+)$']),
    ("duplicate items", "compose", """
        services:
          web:
            image: nginx
            cap_add: [NET_ADMIN, SYS_TIME, NET_ADMIN]
     """, ['compose.yaml:5:36: services.web.cap_add[2]: duplicate item "NET_ADMIN" (also at [0])']),
    ("required key", "compose", """
        services:
          web:
            image: nginx
            volumes:
              - {source: data, target: /data}
     """, ['compose.yaml:6:9: services.web.volumes[0]: missing required key "type"']),
    ("every problem, in document order", "compose", """
        services:
          web:
            image: [nginx]
            environment: [1]
            build: {context: ., dockerfil: Dockerfile}
     """, ["compose.yaml:4:12: services.web.image: expected a string, got a list",
           "compose.yaml:5:19: services.web.environment[0]: expected a string, got an integer",
           'compose.yaml:6:36: services.web.build: unknown key "dockerfil" (did you mean "dockerfile"?)']),
    ("a service nested in a service", "compose", """
        services:
          web:
            image: nginx
            db:
              image: postgres
     """, ['compose.yaml:6:7: services.web: unknown key "db"']),
    ("root of the wrong type", "compose", """
        - services
     """, ["compose.yaml:2:1: expected a mapping, got a list"]),
    ("stack definition: valid", "mlstack", """
        name: demo
        fragments: [jupyter, mlflow]
        profiles:
          dev: {overrides: [dev], gpu: auto}
        volumes:
          hf-cache: {seed: {from: ~/.cache/huggingface}}
     """, []),
    ("stack definition: several problems", "mlstack", """
        name: Demo
        fragments: []
        gpu: sometimes
        profiles:
          dev: {overides: [dev]}
     """, ['mlstack.yaml:2:7: name: "Demo" does not match ^[a-z0-9][a-z0-9_-]*$',
           "mlstack.yaml:3:12: fragments: must not be empty",
           'mlstack.yaml:4:6: gpu: "sometimes" is not one of: auto, required, off',
           'mlstack.yaml:6:19: profiles.dev: unknown key "overides" (did you mean "overrides"?)']),
    ("stack definition: missing name", "mlstack", """
        fragments: [jupyter]
     """, ['mlstack.yaml:2:1: missing required key "name"']),
    ("stack definition: seed forms are exclusive", "mlstack", """
        name: demo
        volumes:
          models: {seed: {from: ./models, image: busybox, path: /models}}
     """, ['mlstack.yaml:4:18: volumes.models.seed: needs either "from" or "image" + "path", not both']),
]


@pytest.mark.parametrize("schema, text, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_messages(schema, text, expected):
    assert problems(text, schema) == expected


def test_unknown_schema_name():
    with pytest.raises(ValueError, match="unknown schema 'docker'"):
        validate(parse_yaml("{}", "x.yaml"), "docker")


# --- (b) the verdict is jsonschema's -------------------------------------------------------------
jsonschema = pytest.importorskip("jsonschema")


def _oracle(name: str):
    document = schema_document(name)
    # validator_for honours "$schema": Compose's schema is 2020-12 (unevaluatedProperties, $ref
    # siblings), which Draft7Validator would silently treat as draft-07
    return jsonschema.validators.validator_for(document)(document)


def _schema_words(document) -> tuple[list[str], list[str]]:
    """Every property name the schema knows, and every enum string: the mutations' vocabulary."""
    names: set[str] = set()
    enums: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            names.update(node.get("properties", {}))
            enums.update(value for value in node.get("enum", []) if isinstance(value, str))
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(document)
    return sorted(names), sorted(enums)


ORACLES = {name: _oracle(name) for name in ("compose", "mlstack")}
WORDS = {name: _schema_words(schema_document(name)) for name in ORACLES}
RICH_COMPOSE = """
services:
  web:
    image: nginx:1.27
    build: {context: ., dockerfile: Dockerfile, args: {A: "1"}, secrets: [npmrc]}
    ports: ["8080:80", {target: 443, published: "8443", host_ip: 127.0.0.1, protocol: tcp}]
    depends_on: {db: {condition: service_healthy, required: true}}
    networks: {backend: {aliases: [www]}, default: null}
    volumes: [{type: volume, source: data, target: /data, read_only: true}, "./src:/src"]
    environment: {MODE: dev, DEBUG: 1, EMPTY: null}
    env_file: [.env, {path: extra.env, required: false}]
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}
    healthcheck: {test: [CMD, "true"], interval: 10s, retries: 3}
    logging: {driver: json-file, options: {max-size: 10m}}
    deploy:
      resources:
        reservations: {devices: [{driver: nvidia, count: all, capabilities: [gpu]}]}
    secrets: [token, {source: cert, target: /cert, mode: 0400}]
    command: [python, -m, app]
    cap_add: [NET_ADMIN]
    extends: {service: base, file: base.yaml}
  db:
    image: postgres:17
    restart: unless-stopped
    cpu_count: 2
    shm_size: 1g
    develop: {watch: [{path: ./src, action: sync, target: /src}]}
networks: {backend: {driver: bridge, ipam: {config: [{subnet: 10.0.0.0/24}]}}}
volumes: {data: {external: true}}
secrets: {token: {file: ./token}, npmrc: {environment: NPMRC}, cert: {file: ./cert}}
configs: {app: {content: "x"}}
x-anchors: {any: thing}
"""
RICH_MLSTACK = """
name: demo
fragments: [jupyter, ./local.yaml]
catalogs: [./catalog]
profiles:
  dev: {overrides: [dev], gpu: auto}
  ci: {extends: dev, overrides: [./ci.yaml], gpu: "off"}
env_files: [.env]
variables: {A: 1, B: x, C: true}
gpu: required
images: {"mlstack/mlflow:v2": "registry/mlflow:v2"}
volumes:
  hf-cache: {seed: {from: ~/.cache/huggingface, mode: sync}}
  models: {seed: {image: busybox, path: /models, owner: "1000:100", subpath: m}}
x-notes: anything
"""
SEEDS = {
    "compose": [parse_yaml(RICH_COMPOSE, "rich.yaml").to_data()]
    + [parse_yaml(path.read_text(), path.name).to_data() for path in sorted((ROOT / "stacks").glob("*.yaml"))],
    "mlstack": [parse_yaml(RICH_MLSTACK, "mlstack.yaml").to_data()],
}


def _values(words: list[str]):
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(-2, 70000), st.sampled_from([1.0, 2.5, -0.5]),
        st.sampled_from(words), st.sampled_from(["", "all", "gpu", "8080:80", "1000:100", "a b", "x-a"]),
    )
    return st.recursive(scalars, lambda children: st.lists(children, max_size=3)
                        | st.dictionaries(st.sampled_from(words + ["x-ext", "bogus"]), children, max_size=3),
                        max_leaves=5)


VALUES = {name: _values(WORDS[name][0]) for name in WORDS}


def _locations(node, path=()):
    yield path, node
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _locations(child, path + (key,))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _locations(child, path + (index,))


def _mutate(document, draw, schema: str):
    """One mutation: a wrong type, an unknown or misplaced key, a bad enum, a nested service..."""
    names, enums = WORDS[schema]
    path, target = draw(st.sampled_from(list(_locations(document))))
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    kind = draw(st.sampled_from(["replace", "enum", "add-key", "typo", "drop-key", "append", "nest", "service-in-service"]))
    services = document.get("services") if isinstance(document, dict) else None
    if kind == "service-in-service" and isinstance(services, dict) and services:
        host, guest = draw(st.sampled_from(sorted(services))), draw(st.sampled_from(sorted(services)))
        if isinstance(services[host], dict):
            services[host][guest] = copy.deepcopy(services[guest])
    elif kind == "add-key" and isinstance(target, dict):
        target[draw(st.sampled_from(names + ["x-ext", "bogus"]))] = draw(VALUES[schema])
    elif kind == "typo" and isinstance(target, dict) and target:
        key = draw(st.sampled_from(sorted(target)))
        target[key + draw(st.sampled_from(["e", "s", "_"]))] = target.pop(key)
    elif kind == "drop-key" and isinstance(target, dict) and target:
        del target[draw(st.sampled_from(sorted(target)))]
    elif kind == "append" and isinstance(target, list):
        target.append(copy.deepcopy(target[0]) if target and draw(st.booleans()) else draw(VALUES[schema]))
    elif kind == "nest" and path and isinstance(target, dict):
        parent[path[-1]] = {draw(st.sampled_from(names)): copy.deepcopy(target)}
    elif kind == "enum" and path:
        parent[path[-1]] = draw(st.sampled_from(enums))
    elif path:
        parent[path[-1]] = draw(VALUES[schema])


@st.composite
def documents(draw):
    """(schema name, node tree): a valid seed with up to three mutations."""
    schema = draw(st.sampled_from(["compose", "mlstack"]))
    document = copy.deepcopy(draw(st.sampled_from(SEEDS[schema])))
    for _ in range(draw(st.integers(0, 3))):
        _mutate(document, draw, schema)
    return schema, from_data(document, Origin("generated.yaml", 1, 1))


FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(documents())
def test_verdict_matches_jsonschema(generated):
    schema, node = generated
    ours = validate(node, schema)
    theirs = ORACLES[schema].is_valid(node.to_data())
    event(f"{schema}: {'valid' if theirs else 'invalid'}")
    assert (not ours) == theirs, ([str(d) for d in ours], [e.message for e in ORACLES[schema].iter_errors(node.to_data())])
    assert all(d.message and "\n" not in str(d) for d in ours)


@FUZZ
@given(documents())
def test_semantic_checks_and_lint_survive_invalid_documents(generated):
    """check() runs the semantic rules even when the schema failed: they must skip odd shapes."""
    schema, node = generated
    check(node, schema)
    for kind in ("dev", "prod"):
        try:
            lint(LintInput(node, kind))
        except StackError as error:  # a mangled x-mlstack.ignore is reported, located: not a crash
            assert error.diagnostics and {d.rule for d in error.diagnostics} == {"lint"}


def test_seeds_are_valid():
    for schema, documents in SEEDS.items():
        for document in documents:
            assert validate(from_data(document, Origin("seed.yaml")), schema) == []


# --- (c) the schemas ------------------------------------------------------------------------------
def _keywords(node, found: set[str]) -> set[str]:
    """Keywords used anywhere in a schema (not the names under properties, $defs...)."""
    if isinstance(node, list):
        for child in node:
            _keywords(child, found)
    elif isinstance(node, dict):
        for key, child in node.items():
            found.add(key)
            if key in ("properties", "patternProperties", "$defs", "definitions", "dependencies"):
                for sub in child.values():
                    _keywords(sub, found)
            elif key not in ("enum", "const", "default", "examples", "required"):
                _keywords(child, found)
    return found


@pytest.mark.parametrize("name", ["compose", "mlstack"])
def test_schema_uses_only_supported_keywords(name):
    assert _keywords(schema_document(name), set()) - SUPPORTED_KEYWORDS == set()
    compiled_schema(name)  # raises on a combination the compiler does not support


def test_vendored_compose_schema_is_upstreams():
    check_jsonschema = pytest.importorskip("check_jsonschema")
    upstream = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "compose-spec.json"
    ours = ROOT / "mlstack" / "schemas" / "compose-spec.json"
    assert json.loads(ours.read_text()) == json.loads(upstream.read_text()), (
        f"{upstream} differs from {ours}: re-vendor it, then run these tests to see what the new schema needs")


# --- the schemas as Python data (mlstack/schemas/parsed.py, written by scripts/gen-schemas) ----------

def test_the_parsed_schemas_are_the_json_files_and_not_stale():
    """parsed.py holds each JSON file's document, size and CRC-32 as scripts/gen-schemas writes them now."""
    import binascii
    import json
    import subprocess
    import sys
    from pathlib import Path

    from mlstack.schemas.parsed import SCHEMAS

    root = Path(__file__).resolve().parents[2]
    for name, (size, crc, document) in SCHEMAS.items():
        data = (root / "mlstack" / "schemas" / name).read_bytes()
        assert (size, crc, document) == (len(data), binascii.crc32(data), json.loads(data))
    checked = subprocess.run([sys.executable, str(root / "scripts" / "gen-schemas"), "--check"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_a_schema_file_edited_since_parsed_py_is_read_as_it_is(monkeypatch):
    import json
    from pathlib import Path

    from mlstack.core import schema
    from mlstack.schemas import parsed

    name = schema.SCHEMA_FILES["mlstack"]
    size, crc, document = parsed.SCHEMAS[name]
    monkeypatch.setitem(parsed.SCHEMAS, name, (size, crc ^ 1, {"stale": True}))   # as if the JSON had changed

    folder = Path(schema.__file__).resolve().parent.parent / "schemas"
    assert schema.schema_document("mlstack") == json.loads((folder / name).read_text(encoding="utf-8")) == document
