"""Diagnostics: one constructor from a node of the model, one way to write a path."""

from __future__ import annotations

from mlstack.core.model import Origin, from_data
from mlstack.report import Diagnostic, path_str


def test_a_diagnostic_at_a_node_is_located_where_the_node_was_set():
    node = from_data("latest", Origin("stacks/jupyter.yaml", 7, 12))
    found = Diagnostic.at(node, ("services", "jupyter", "ports", 0), "no tag", "image-tag", "warning")
    assert found == Diagnostic("stacks/jupyter.yaml", 7, 12, "services.jupyter.ports[0]", "no tag", "image-tag", "warning")
    assert str(found) == "stacks/jupyter.yaml:7:12: services.jupyter.ports[0]: warning: no tag"
    assert str(Diagnostic.at(node, "x-mlstack.requires", "needs redis")) == \
        "stacks/jupyter.yaml:7:12: x-mlstack.requires: needs redis"


def test_path_str():
    assert path_str(("services", "web", "ports", 0, "published")) == "services.web.ports[0].published"
    assert path_str(()) == ""
