"""The image map on the hermetic test engine: a registry prefix rule maps the images mlstack.yaml names for
seeding (docs/stack-definition.md#image-map). No network: the mapped images are local stand-ins."""

from __future__ import annotations

import pytest

from tests.integration.test_seeding import host_files, make_source, stacks, volume_files  # noqa: F401 - a fixture

pytestmark = pytest.mark.engine

# Docker Hub's official images move to the stand-ins' namespace: busybox:1 is mlstack-test/busybox:1 here
PREFIX_RULE = "images:\n  docker.io/library/: docker.io/mlstack-test/\n"


def test_the_helper_image_named_in_mlstack_yaml_is_mapped_by_prefix(stacks, tmp_path):
    source = make_source(tmp_path / "models", 4, 1_000)
    stack = stacks(f"{{from: {source}}}")
    definition = stack.dir / "mlstack.yaml"
    unmapped = definition.read_text() + "seeding:\n  helper_image: busybox:1\n"
    definition.write_text(unmapped)
    refused = stack.seed(helper=None)   # busybox:1 itself is not on the engine, and is never pulled
    assert refused.returncode == 6
    assert refused.stderr.startswith("mlstack: helper image busybox:1 is not on the engine")
    definition.write_text(unmapped.replace("images:\n", PREFIX_RULE))
    done = stack.seed(helper=None)
    assert done.returncode == 0, done.stderr
    assert volume_files(stack.volume) == host_files(source)
