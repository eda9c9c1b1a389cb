"""The image map: exact references and registry prefixes, read as Docker reads references (core.image_map)."""

from __future__ import annotations

import textwrap

import pytest

from mlstack.core.image_map import compile_map, normalize
from mlstack.core.load import parse_yaml
from mlstack.errors import StackError

NORMALIZED = [
    ("postgres", "docker.io/library/postgres"),
    ("postgres:16", "docker.io/library/postgres:16"),
    ("library/postgres:16", "docker.io/library/postgres:16"),
    ("mlflow/mlflow:2.16", "docker.io/mlflow/mlflow:2.16"),
    ("docker.io/redis:7", "docker.io/library/redis:7"),
    ("index.docker.io/redis:7", "docker.io/library/redis:7"),
    ("quay.io/x/y:1", "quay.io/x/y:1"),
    ("localhost/app", "localhost/app"),
    ("localhost:5000/app:dev", "localhost:5000/app:dev"),
    ("registry.internal:5000/team/app", "registry.internal:5000/team/app"),
    ("redis@sha256:" + "a" * 64, "docker.io/library/redis@sha256:" + "a" * 64),
    ("redis:7@sha256:" + "b" * 64, "docker.io/library/redis:7@sha256:" + "b" * 64),
    ("Postgres:16", None),             # repositories are lower case
    ("postgres:", None),
    ("", None),
]


@pytest.mark.parametrize(("reference", "expected"), NORMALIZED)
def test_references_are_normalized_as_docker_reads_them(reference, expected):
    assert normalize(reference) == expected


RULES = """
    images:
      docker.io/: registry.internal:5000/
      docker.io/library/: registry.internal:5000/official/
      quay.io/: mirror.internal/quay/
      postgres:16: mlstack-test/postgres:1
      ghcr.io/org/app:1: ghcr.io/org/app:2
"""

# (reference as written in the model, what it becomes, the rule that mapped it); None: not mapped
LOOKUPS = [
    ("postgres:16", "mlstack-test/postgres:1", "postgres:16"),                          # exact beats prefix
    ("docker.io/library/postgres:16", "mlstack-test/postgres:1", "postgres:16"),        # same image, normalised
    ("postgres:17", "registry.internal:5000/official/postgres:17", "docker.io/library/"),  # longest prefix wins
    ("redis", "registry.internal:5000/official/redis", "docker.io/library/"),
    ("mlflow/mlflow:2.16", "registry.internal:5000/mlflow/mlflow:2.16", "docker.io/"),
    ("index.docker.io/mlflow/mlflow:2.16", "registry.internal:5000/mlflow/mlflow:2.16", "docker.io/"),
    ("qdrant/qdrant@sha256:" + "c" * 64, "registry.internal:5000/qdrant/qdrant@sha256:" + "c" * 64, "docker.io/"),
    ("quay.io/x/y:1", "mirror.internal/quay/x/y:1", "quay.io/"),
    ("ghcr.io/org/app:1", "ghcr.io/org/app:2", "ghcr.io/org/app:1"),
    ("ghcr.io/org/app:3", None, None),                         # another registry, no prefix rule for it
    ("quay.io.evil/x:1", None, None),                          # a prefix is whole path components
    ("localhost:5000/app", None, None),
]


@pytest.mark.parametrize(("reference", "expected", "rule"), LOOKUPS)
def test_exact_rules_beat_prefixes_and_the_longest_prefix_wins(reference, expected, rule):
    image_map = compile_map(parse_yaml(textwrap.dedent(RULES), "mlstack.yaml").get("images"), "mlstack.yaml")
    mapped = image_map.lookup(reference)
    assert (mapped and mapped.reference, mapped and mapped.rule.key) == (expected, rule)


MALFORMED = [
    ("library/: registry.internal/", "mlstack.yaml:2:13: images.library/: prefix rule 'library/' must start with a "
     "registry host (docker.io/, quay.io/, registry.internal:5000/) and name whole path components"),
    ("docker.io/: registry.internal:5000", "mlstack.yaml:2:15: images.docker.io/: a prefix rule's replacement ends "
     "with '/', as its key does: 'registry.internal:5000' -> registry.internal:5000/"),
    ("docker.io/: team/", "mlstack.yaml:2:15: images.docker.io/: replacement 'team/' must start with a registry host "
     "and name whole path components"),
    ("Postgres:16: registry.internal/postgres:16", "mlstack.yaml:2:16: images.Postgres:16: 'Postgres:16' is not an "
     "image reference (a prefix rule ends with '/')"),
    ("postgres:16: registry.internal/", "mlstack.yaml:2:16: images.postgres:16: replacement 'registry.internal/' is "
     "not an image reference"),
]


@pytest.mark.parametrize(("rule", "message"), MALFORMED)
def test_a_malformed_rule_is_a_located_error(rule, message):
    root = parse_yaml(f"images:\n  {rule}\n", "mlstack.yaml")
    with pytest.raises(StackError) as raised:
        compile_map(root.get("images"), "mlstack.yaml")
    assert [str(d) for d in raised.value.diagnostics] == [message]


def test_the_images_seeding_names_are_mapped_too(tmp_path):
    """A seed's image source and seeding.helper_image come from mlstack.yaml: mapped as the services' images are."""
    from mlstack.core.stack import load_stack
    from mlstack.lifecycle.seeder import planned

    (tmp_path / "mlstack.yaml").write_text(textwrap.dedent("""
        name: team
        fragments: [redis]
        images: {docker.io/: registry.internal:5000/}
        volumes:
          weights: {seed: {image: "team/weights:2024-06", path: /models}}
          local: {seed: {image: "localhost:5000/weights:1", path: /models}}
    """))
    stack = load_stack(tmp_path / "mlstack.yaml", tmp_path)
    document = {"volumes": {"weights": {}, "local": {}}}
    plans = planned(stack, document, "team-dev", "dev", [], {})
    assert sorted((plan.volume, plan.source.image) for plan in plans) == [
        ("local", "localhost:5000/weights:1"), ("weights", "registry.internal:5000/team/weights:2024-06")]
