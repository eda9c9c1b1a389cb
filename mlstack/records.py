"""Records: the part of `dataclasses` mlstack's render path uses, without its cost at import.

`dataclasses` writes each class's methods as source and compiles them (`exec`, 5 to 10 per class) and
imports `inspect` (ast, dis, tokenize): ~20 ms of a ~100 ms render, more than Compose takes to start.
`record` gives a class the same behaviour from methods written once, here: `__init__` (positional or
keyword, defaults, `field(default_factory=...)`), `__repr__`, `__eq__` (same class, fields compared in
order; `compare=False` left out), `__hash__` (frozen records; a mutable one is unhashable), `order=True`
comparisons, `frozen=True` (FrozenInstanceError), and `replace` and `asdict`. tests/unit/test_records.py
holds each behaviour against `dataclasses` on the same class.
"""

from __future__ import annotations

_MISSING = object()


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record."""


class Field:
    __slots__ = ("name", "default", "default_factory", "compare")

    def __init__(self, default=_MISSING, default_factory=_MISSING, compare: bool = True) -> None:
        self.name = ""
        self.default, self.default_factory, self.compare = default, default_factory, compare


def field(*, default=_MISSING, default_factory=_MISSING, compare: bool = True) -> Field:
    if default is not _MISSING and default_factory is not _MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, compare)


def record(cls=None, /, *, frozen: bool = False, order: bool = False):
    """`@record`, `@record(frozen=True, order=True)`: as `@dataclass` with the same arguments."""
    def wrap(cls):
        return _make(cls, frozen, order)
    return wrap if cls is None else wrap(cls)


def _make(cls, frozen: bool, order: bool):
    fields: list[Field] = []
    for base in reversed(cls.__mro__[1:]):
        fields += [known for known in getattr(base, "__record_fields__", ()) if known.name not in
                   cls.__dict__.get("__annotations__", {})]
    for name in cls.__dict__.get("__annotations__", {}):
        value = cls.__dict__.get(name, _MISSING)
        if isinstance(value, Field):
            declared = value
            if declared.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, declared.default)
        else:
            declared = Field(value)
        declared.name = name
        if isinstance(declared.default, (list, dict, set)):
            raise ValueError(f"mutable default {type(declared.default)} for field {name} is not allowed: use default_factory")
        fields = [known for known in fields if known.name != name] + [declared]
    seen_default = False
    for each in fields:
        has_default = each.default is not _MISSING or each.default_factory is not _MISSING
        if seen_default and not has_default:
            raise TypeError(f"non-default argument {each.name!r} follows default argument")
        seen_default = seen_default or has_default
    cls.__record_fields__ = tuple(fields)
    cls.__match_args__ = tuple(each.name for each in fields)
    names = cls.__match_args__
    compared = tuple(each.name for each in fields if each.compare)
    for name, method in (("__init__", _init), ("__repr__", _repr), ("__eq__", _eq)):
        if name not in cls.__dict__:
            setattr(cls, name, method)
    if frozen:
        cls.__setattr__, cls.__delattr__ = _frozen_setattr, _frozen_delattr
        if "__hash__" not in cls.__dict__ or cls.__dict__["__hash__"] is None:
            cls.__hash__ = _hash
    elif "__hash__" not in cls.__dict__ or cls.__dict__["__hash__"] is None:
        cls.__hash__ = None
    if order:
        for name, method in _ORDER.items():
            if name in cls.__dict__:
                raise TypeError(f"cannot overwrite attribute {name} in class {cls.__name__}. Consider using functools.total_ordering")
            setattr(cls, name, method)
    cls.__record_names__, cls.__record_compared__ = names, compared
    # per number of positional arguments: the defaults of the fields after them, or None where one has none
    cls.__record_tails__ = [None if any(each.default is _MISSING and each.default_factory is _MISSING for each in fields[given:])
                            else tuple((each.name, each.default, None if each.default_factory is _MISSING else each.default_factory)
                                       for each in fields[given:]) for given in range(len(fields) + 1)]
    return cls


def _init(self, *args, **kwargs) -> None:
    names = type(self).__record_names__
    if not kwargs and len(args) <= len(names):   # the common case: the first fields in order, defaults for the rest
        tail = type(self).__record_tails__[len(args)]
        if tail is not None:
            state = self.__dict__
            state.update(zip(names, args))
            for name, default, factory in tail:
                state[name] = default if factory is None else factory()
            return
    fields = type(self).__record_fields__
    if len(args) > len(fields):
        raise TypeError(f"{type(self).__qualname__}.__init__() takes {len(fields) + 1} positional arguments but "
                        f"{len(args) + 1} were given")
    for unknown in kwargs.keys() - type(self).__record_names__ if kwargs else ():
        raise TypeError(f"{type(self).__qualname__}.__init__() got an unexpected keyword argument {unknown!r}")
    for position, each in enumerate(fields):
        if position < len(args):
            if each.name in kwargs:
                raise TypeError(f"{type(self).__qualname__}.__init__() got multiple values for argument {each.name!r}")
            value = args[position]
        elif each.name in kwargs:
            value = kwargs[each.name]
        elif each.default_factory is not _MISSING:
            value = each.default_factory()
        elif each.default is not _MISSING:
            value = each.default
        else:
            raise TypeError(f"{type(self).__qualname__}.__init__() missing 1 required positional argument: {each.name!r}")
        object.__setattr__(self, each.name, value)


def _repr(self) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in type(self).__record_names__)
    return f"{type(self).__qualname__}({shown})"


def _key(self) -> tuple:
    return tuple(getattr(self, name) for name in type(self).__record_compared__)


def _eq(self, other):
    if other.__class__ is self.__class__:
        return _key(self) == _key(other)
    return NotImplemented


def _hash(self) -> int:
    return hash(_key(self))


def _compare(test):
    def compare(self, other):
        if other.__class__ is self.__class__:
            return test(_key(self), _key(other))
        return NotImplemented
    return compare


_ORDER = {"__lt__": _compare(lambda a, b: a < b), "__le__": _compare(lambda a, b: a <= b),
          "__gt__": _compare(lambda a, b: a > b), "__ge__": _compare(lambda a, b: a >= b)}


def _frozen_setattr(self, name: str, value) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def replace(instance, **changes):
    """A copy with some fields changed, as `dataclasses.replace`."""
    for name in changes:
        if name not in type(instance).__record_names__:
            raise TypeError(f"{type(instance).__qualname__}.__init__() got an unexpected keyword argument {name!r}")
    return type(instance)(**{name: changes[name] if name in changes else getattr(instance, name)
                             for name in type(instance).__record_names__})


def asdict(instance) -> dict:
    """Fields to plain data, records, lists, tuples and dicts within copied, as `dataclasses.asdict`."""
    return {name: _plain(getattr(instance, name)) for name in type(instance).__record_names__}


def _plain(value):
    if hasattr(type(value), "__record_names__"):
        return asdict(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*[_plain(item) for item in value])
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    if isinstance(value, dict):
        return type(value)((_plain(key), _plain(item)) for key, item in value.items())
    import copy

    return copy.deepcopy(value)
