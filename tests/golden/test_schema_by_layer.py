"""De-duplication and the schema check after each file go over only what that file changed
(project._changed_part), and do exactly what going over the whole merged model would: the same model, the same
verdict, the same problems, on every case of the differential suites (accepted and rejected files alike) and on
files made to break an earlier file's entry."""

from __future__ import annotations

from pathlib import Path

import pytest

import copy

from compose_diff import Case, load
from mlstack.core import project
from mlstack.core.merge import enforce_unicity
from mlstack.core.schema import validate
from mlstack.errors import StackError

HERE = Path(__file__).parent
CASES = sorted(path for suite in ("differential", "differential_errors") for path in (HERE / suite).iterdir()
               if path.is_dir())


def _shape(node):
    """A node's values and short-form memory (`raw`), all the way down: what de-duplication changes."""
    if node.is_map:
        return node.raw, {key: _shape(child) for key, child in node.value.items()}
    if node.is_seq:
        return node.raw, [_shape(child) for child in node.value]
    return node.raw, node.value


@pytest.fixture
def compared(monkeypatch) -> list[int]:
    """Each layer's changed part checked against the whole model; how many layers were compared."""
    layers: list[int] = []
    changed_part = project._changed_part

    def checked(merged, layer):
        part = changed_part(merged, layer)
        whole = copy.deepcopy(merged)
        enforce_unicity(whole)
        enforce_unicity(part)   # in place, as _merge_layer does: merged itself is de-duplicated through it
        assert _shape(merged) == _shape(whole)
        assert [str(d) for d in validate(part, "compose")] == [str(d) for d in validate(merged, "compose")]
        layers.append(len(part.value))
        return part

    monkeypatch.setattr(project, "_changed_part", checked)
    return layers


@pytest.mark.parametrize("directory", CASES, ids=[f"{path.parent.name}/{path.name}" for path in CASES])
def test_each_layer_s_check_says_what_the_whole_model_s_check_says(directory: Path, compared: list[int]) -> None:
    try:
        load(Case.read(directory))
    except StackError:
        return   # a rejection: compared up to the layer that failed, if it got as far as merging
    assert compared, "no layer was merged"


def test_a_later_file_that_breaks_an_entry_an_earlier_file_defined_fails_at_that_entry(tmp_path, compared):
    (tmp_path / "1.yaml").write_text("services:\n  a:\n    image: alpine\n  b:\n    image: alpine\n"
                                     "networks:\n  n: {}\nvolumes:\n  v: {}\n")
    (tmp_path / "2.yaml").write_text("services:\n  b:\n    ports: [{target: 80, mode: 3}]\nvolumes:\n  v:\n    driver: [x]\n")

    with pytest.raises(StackError) as raised:
        load(Case.read(tmp_path))

    assert [str(d) for d in raised.value.diagnostics] == [
        "2.yaml:3:32: services.b.ports[0].mode: expected a string, got an integer",
        "2.yaml:6:13: volumes.v.driver: expected a string, got a list",
    ]
    assert compared == [3, 3]   # both layers compared (services, networks and volumes at the top)
