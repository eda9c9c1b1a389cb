"""`.env` and `env_file` files, read as Compose reads them (docs/stack-definition.md)."""

from __future__ import annotations

import re
from pathlib import Path as FsPath

from mlstack.core.interpolate import InterpolationError, substitute
from mlstack.core.load import read_text
from mlstack.core.model import Origin
from mlstack.errors import StackError
from mlstack.report import Diagnostic
from mlstack.patterns import lazy

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Mapping


def read_env_file(path: FsPath, display: str, referenced_from: Origin | None,
                  environ: Mapping[str, str]) -> dict[str, str]:
    """A .env file read as Compose reads it; `environ` (the process's, passed down) answers `${VAR}`.

    The process environment also wins over the file for a key both define, for the file's own
    later references too; a bare `KEY` line takes KEY from the environment, if it is there.
    """
    text = read_text(path, "env file", referenced_from, display)
    return parse_env(text, display, environ)


_ENV_KEY = lazy(r"[A-Za-z0-9_.]+")
_ENV_ESCAPE = lazy(r"\\(.)", re.DOTALL)


def parse_env(text: str, display: str, environ: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    position, length = 0, len(text)

    def fail(message: str) -> StackError:
        line = text.count("\n", 0, position) + 1
        return StackError(message, [Diagnostic(display, line, 0, "", message, "env")])

    nul = text.find("\0")
    if nul >= 0:  # no process environment can carry it
        position = nul
        raise fail("a NUL character is not allowed in an env file")

    def expand(value: str) -> str:
        try:
            return substitute(value, {**values, **environ})
        except InterpolationError as error:
            raise fail(str(error)) from None

    while position < length:
        while position < length and text[position].isspace():
            position += 1
        if position >= length:
            break
        if text[position] == "#":
            end = text.find("\n", position)
            position = length if end < 0 else end
            continue
        if text.startswith("export", position) and text[position + 6:position + 7] in (" ", "\t"):
            position += 6
        end = position
        while end < length and text[end] not in "=:\n":
            end += 1
        key = text[position:end].strip(" \t\r")
        if not _ENV_KEY.fullmatch(key):
            raise fail(f"invalid variable name {key!r}" if key else "a line with a value but no variable name")
        if end >= length or text[end] == "\n":  # a bare KEY: taken from the environment, if there
            if key in environ:
                values[key] = environ[key]
            position = end
            continue
        position = end + 1
        while position < length and text[position] in " \t\r\f\v":
            position += 1
        quote = text[position] if position < length and text[position] in "'\"" else ""
        if quote:
            close = position + 1
            while close < length and not (text[close] == quote and text[close - 1] != "\\"):
                close += 1
            if close >= length:
                raise fail(f"unterminated quoted value for {key}")
            value = text[position + 1:close]
            if quote == '"':
                value = value.replace("\\n", "\n").replace("\\r", "\r")
                value = expand(_ENV_ESCAPE.sub(lambda match: match.group(0) if match.group(1) == "$" else match.group(1), value))
            end = text.find("\n", close)
            position = length if end < 0 else end
        else:
            end = text.find("\n", position)
            end = length if end < 0 else end
            value = re.split(r"\s#", text[position:end], maxsplit=1)[0].rstrip()
            value = expand(value)
            position = end
        values[key] = environ.get(key, value)
    return values
