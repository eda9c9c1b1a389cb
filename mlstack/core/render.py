"""The merged model to one deterministic compose file: sorted keys, `$` escaped, a header.

Byte-identical across runs and machines: keys are sorted, relative paths stay relative (to the
directory the file is written to), and the header's hash covers the body.
"""

from __future__ import annotations

import io

from mlstack.records import field, record
from pathlib import Path as FsPath

import yaml  # already loaded by mlstack.core.load

from mlstack.core.digest import sha256
from mlstack.core.load import TIMESTAMP_TAG, Timestamp, resolve_plain
from mlstack.core.model import Node, matches, pattern
from mlstack.core.paths import rebase_at
from mlstack.core.pyyaml import implicit_tag

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Any


_STR_TAG, _MAP_TAG, _SEQ_TAG = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_BOOL_TAG, _INT_TAG, _NULL_TAG = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:null"
TOP_LEVEL_ORDER = ("name", "services", "networks", "volumes", "secrets", "configs", "models")


@record
class Header:
    stack: str
    profile: str
    sources: list[str]
    notes: list[str] = field(default_factory=list)


def to_document(root: Node, project_dir: FsPath, out_dir: FsPath | None) -> dict[str, Any]:
    """Plain data ready to dump: `$` escaped for Compose, relative paths rebased to out_dir."""

    def convert(node: Node, path: tuple) -> Any:
        value = node.value
        if isinstance(value, dict):
            return {key: convert(child, path + (key,)) for key, child in value.items()}
        if isinstance(value, list):
            entries = [convert(child, path + (index,)) for index, child in enumerate(value)]
            return _last_of_each(entries) if any(matches(path, want) for want in FILE_LISTS) else entries
        if isinstance(value, str) and node.tag == TIMESTAMP_TAG:
            return Timestamp(value)
        if isinstance(value, str):
            if out_dir is not None:
                value = rebase_at(root, path, value, project_dir, out_dir)
            return value.replace("$", "$$")
        return value

    data = convert(root, ())
    ordered = {key: data[key] for key in TOP_LEVEL_ORDER if key in data}
    ordered.update({key: data[key] for key in sorted(data) if key not in ordered})
    return ordered


# env files are read in order, a later one winning: rebasing can make two spellings of one file
# (a.env, ./a.env) the same text, which Compose would then keep in the FIRST place. Keeping each
# file's last place instead reads the files in the same effective order.
FILE_LISTS = [pattern("services.*.env_file")]


def _last_of_each(entries: list) -> list:
    def file_of(entry) -> str:
        return str(entry.get("path")) if isinstance(entry, dict) else str(entry)

    last = {file_of(entry): index for index, entry in enumerate(entries)}
    return [entry for index, entry in enumerate(entries) if last[file_of(entry)] == index]


_DUMPER = None


def _dumper():
    """A safe dumper that writes multi-line strings (scripts, healthchecks) as literal blocks."""
    global _DUMPER
    if _DUMPER is None:
        try:
            from yaml import CSafeDumper as base
        except ImportError:  # pragma: no cover
            from yaml import SafeDumper as base  # type: ignore[assignment]

        class Dumper(base):  # type: ignore[misc, valid-type]
            def resolve(self, kind, value, implicit):
                # would a reader type this text? answered without PyYAML's patterns where certain (core.pyyaml)
                if kind is yaml.ScalarNode:
                    if not implicit[0]:
                        return _STR_TAG   # a quoted scalar is a string (a safe dumper has no path resolvers)
                    tag = implicit_tag(value)
                    if tag is not None:
                        return tag
                return super().resolve(kind, value, implicit)

            def node(self, value: Any) -> yaml.Node:
                """The node represent_data makes of `value`, made directly for the plain data to_document
                gives (no object there appears twice, so there is no alias to find): a third of a dump's
                time. Anything else is left to represent_data. tests/unit/test_dump.py holds the two equal."""
                kind = type(value)
                if kind is str:
                    return yaml.ScalarNode(_STR_TAG, value, style=_str_style(value))
                if kind is dict:
                    items = list(value.items())
                    try:
                        items.sort()
                    except TypeError:
                        pass
                    return yaml.MappingNode(_MAP_TAG, [(self.node(key), self.node(child)) for key, child in items],
                                            flow_style=False)
                if kind is list:
                    return yaml.SequenceNode(_SEQ_TAG, [self.node(child) for child in value], flow_style=False)
                if kind is bool:
                    return yaml.ScalarNode(_BOOL_TAG, "true" if value else "false")
                if kind is int:
                    return yaml.ScalarNode(_INT_TAG, str(value))
                if kind is type(None):
                    return yaml.ScalarNode(_NULL_TAG, "null")
                return self.represent_data(value)

        def represent_str(dumper, value: str):
            return dumper.represent_scalar(_STR_TAG, value, style=_str_style(value))

        def represent_timestamp(dumper, value: Timestamp):
            # unquoted, so that Compose reads the same time it read from the source file
            return dumper.represent_scalar("tag:yaml.org,2002:timestamp", str(value), style=None)

        Dumper.add_representer(str, represent_str)
        Dumper.add_representer(Timestamp, represent_timestamp)
        _DUMPER = Dumper
    return _DUMPER


def _str_style(value: str) -> str | None:
    style = "|" if "\n" in value else None  # the emitter falls back to quotes where a block cannot hold it
    if style is None and value and _not_a_string_to_go(value):
        style = "'"  # PyYAML would write 1e3, 0o17 or 2024-2-1 plain, and Go would not read a string
    return style


def _not_a_string_to_go(text: str) -> bool:
    resolved = resolve_plain(text)
    return not isinstance(resolved, str) or isinstance(resolved, Timestamp)


def _dump_one(data: dict) -> str:
    """`yaml.dump(data, Dumper=_dumper(), ...)`, the document's nodes made by Dumper.node."""
    stream = io.StringIO()
    dumper = _dumper()(stream, sort_keys=True, default_flow_style=False, allow_unicode=True, width=4096)
    try:
        dumper.open()
        dumper.serialize(dumper.node(data))
        dumper.close()
    finally:
        dumper.dispose()
    return stream.getvalue()


def dump(document: dict[str, Any], header: Header, output_format: str = "yaml") -> str:
    if output_format == "json":
        import json

        body = json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False, default=str) + "\n"
        return body
    body = "".join(_dump_one({key: value}) for key, value in document.items())
    digest = sha256(body.encode()).hexdigest()[:16]
    lines = [
        f"# Rendered by mlstack: stack {header.stack}, profile {header.profile or '(none)'}. Do not edit: re-render.",
        *(f"# source: {source}" for source in header.sources),
        *(f"# {note}" for note in header.notes),
        f"# content sha256: {digest}",
    ]
    return "\n".join(lines) + "\n" + body
