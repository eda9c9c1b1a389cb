"""mlstack.records behaves as dataclasses does for what the render path uses: each case builds the same
class both ways and asks both the same question."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from mlstack import records
from mlstack.core.model import Origin
from mlstack.report import Diagnostic


def both(frozen: bool = False, order: bool = False):
    """The same class declared with dataclasses and with records."""
    made = []
    for decorate, field in ((dataclasses.dataclass, dataclasses.field), (records.record, records.field)):
        @decorate(frozen=frozen, order=order)
        class Point:
            x: int
            y: int = 0
            tags: list = field(default_factory=list)
            note: str = field(default="", compare=False)

            def norm(self) -> int:
                return abs(self.x) + abs(self.y)

        made.append(Point)
    return made


def outcome(call):
    try:
        return ("value", call())
    except Exception as error:  # noqa: BLE001 - the exception's type is what is compared
        return ("raises", type(error).__name__ if not isinstance(error, AttributeError) else "AttributeError")


QUESTIONS = {
    "repr": lambda P: repr(P(1, 2, ["a"], "n")).split("(", 1)[1],
    "defaults": lambda P: (P(1).y, P(1).tags, P(1).note, P(1).tags is not P(1).tags),
    "keywords": lambda P: repr(P(y=3, x=4)).split("(", 1)[1],
    "equal": lambda P: (P(1, 2) == P(1, 2), P(1, 2) == P(1, 3), P(1, 2, note="a") == P(1, 2, note="b"), P(1) == (1, 0)),
    "missing argument": lambda P: P(),
    "too many arguments": lambda P: P(1, 2, [], "", 5),
    "unknown keyword": lambda P: P(1, z=2),
    "twice": lambda P: P(1, x=2),
    "hash": lambda P: hash(P(1, 2)) == hash(P(1, 2, note="other")) if P.__hash__ else "unhashable",
    "assign": lambda P: setattr(P(1), "x", 5),
    "delete": lambda P: delattr(P(1), "x"),
    "order": lambda P: sorted([P(2, 1), P(1, 5), P(1, 2)]) == [P(1, 2), P(1, 5), P(2, 1)],
    "order against another class": lambda P: P(1) < (1,),
    "replace": lambda P: repr(dataclasses.replace(P(1, 2), y=7) if dataclasses.is_dataclass(P)
                              else records.replace(P(1, 2), y=7)).split("(", 1)[1],
    "asdict": lambda P: (dataclasses.asdict if dataclasses.is_dataclass(P) else records.asdict)(P(1, 2, [P(3)])),
    "match args": lambda P: P.__match_args__,
    "a method": lambda P: P(-3, 4).norm(),
}


@pytest.mark.parametrize("frozen, order", [(False, False), (True, False), (True, True), (False, True)])
@pytest.mark.parametrize("question", list(QUESTIONS))
def test_records_answer_as_dataclasses_do(question, frozen, order):
    with_dataclasses, with_records = both(frozen, order)
    expected = outcome(lambda: QUESTIONS[question](with_dataclasses))
    if question == "asdict":   # the nested record is itself a dict, either way
        assert outcome(lambda: QUESTIONS[question](with_records)) == expected
        return
    assert outcome(lambda: QUESTIONS[question](with_records)) == expected


def test_the_render_paths_records_keep_their_behaviour():
    origin = Origin("a.yaml", 3, 4, "dev", variables=(("X", "1"),))
    assert origin.with_rule("merged") == Origin("a.yaml", 3, 4, "dev", "merged")   # variables are not compared
    assert origin.with_rule("merged").variables == (("X", "1"),)
    assert repr(Origin("f", 1)) == "Origin(file='f', line=1, column=0, profile='', rule='set', variables=())"
    assert pickle.loads(pickle.dumps(origin)) == origin
    first, second = Diagnostic("a.yaml", 1, 1, "x", "m"), Diagnostic("a.yaml", 1, 2, "x", "m")
    assert sorted([second, first]) == [first, second] and len({first, Diagnostic("a.yaml", 1, 1, "x", "m")}) == 1
    with pytest.raises(records.FrozenInstanceError):
        first.line = 2


def test_a_mutable_default_is_refused_as_dataclasses_refuses_it():
    with pytest.raises(ValueError):
        @records.record
        class Holder:
            items: list = []   # noqa: RUF012 - the mistake under test


def test_origin_s_own_init_takes_its_fields_in_order_with_their_defaults():
    """model.Origin writes its __init__ out (every node has an origin): it must be the one record would give it."""
    import inspect

    from mlstack.core.model import Origin
    from mlstack.records import _MISSING

    parameters = list(inspect.signature(Origin.__init__).parameters.values())[1:]
    fields = Origin.__record_fields__
    assert [(p.name, p.default) for p in parameters] == [
        (f.name, f.default if f.default is not _MISSING else f.default_factory()) for f in fields]
    origin = Origin("f.yaml", 3, 4, "dev", "merged", (("TAG", "1"),))
    assert vars(origin) == {"file": "f.yaml", "line": 3, "column": 4, "profile": "dev", "rule": "merged",
                            "variables": (("TAG", "1"),)}
    assert origin.with_rule("set") == Origin("f.yaml", 3, 4, "dev") != origin
