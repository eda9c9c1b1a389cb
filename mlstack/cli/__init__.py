"""The command line's entry point: the one reader of the process environment, `--debug`, and dispatch.

The Typer app (`cli.typer_app`) holds the options and their commands. Importing it costs more than
a whole replayed render (Typer and click, ~45 ms), so an invocation whose output was stored and
whose inputs are all as they were then (`cli.replay`: a render to standard output, a help text) is
replayed before it is imported, and a render whose arguments `cli.arguments` reads exactly as Typer
would runs without it; anything else goes through the app.
"""

from __future__ import annotations

import sys

from mlstack.cli.environment import COMPLETION_VARIABLE, process_env

# No typing or contextlib here (~8 ms together): a replay imports this module and little else.


# Options of every command, read here wherever they stand before `exec`'s own arguments (docs/cli.md#output):
# --verbose is the commands --debug shows without its tracebacks (-v is `down --volumes`, as in Compose)
QUIET, VERBOSE, DEBUG = ("--quiet", "-q"), ("--verbose",), ("--debug",)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turn every error into one message and its exit code.

    `--debug` (anywhere on the line) or MLSTACK_DEBUG=1 adds the traceback of an unexpected error.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    # `exec SERVICE CMD...` passes its own arguments on: there only options before `exec` count
    ours = args[:args.index("exec")] if "exec" in args else args
    env = process_env()
    flags = {flag for flag in QUIET + VERBOSE + DEBUG if flag in ours}
    key = [arg for arg in args if arg not in DEBUG]   # what a replay depends on: -q drops notes from stderr
    args = [arg for index, arg in enumerate(args) if index >= len(ours) or arg not in flags]
    debug = bool(flags & set(DEBUG)) or env.get("MLSTACK_DEBUG") == "1"
    quiet = bool(flags & set(QUIET))
    if env.get(COMPLETION_VARIABLE):   # a shell asks for completions: Typer answers, nothing is replayed
        _dispatch(args, debug, quiet, env)
    # click prints a help text and exits before any command runs: it depends on the invocation alone
    asks_help = "--help" in ours or not args
    if (args[:1] == ["render"] or asks_help) and not debug:   # --debug shows what a command runs: it always runs
        _short(key, args, env, quiet, asks_help, whole_process=argv is None)
    code = 0
    with DebugLines(debug or bool(flags & set(VERBOSE))):
        try:
            if args[:1] in (["seed"], ["status"], ["ps"], ["up"]) and not asks_help:
                _without_typer(args, debug, quiet, env)
            _dispatch(args, debug, quiet, env)
        except SystemExit as done:
            if argv is not None or not isinstance(done.code, (int, type(None))):
                raise
            code = done.code or 0
    if argv is None:   # the process's own command line: it ends here (main(argv): the caller goes on)
        _leave(code)


def _short(key: list[str], args: list[str], env: dict[str, str], quiet: bool, asks_help: bool,
           whole_process: bool) -> None:
    """A render or a help text: replayed, or run without Typer where `cli.arguments` reads the arguments.

    Both end in well under 100 ms, with the cyclic garbage collector off: its collections of the young
    objects a render makes cost ~4 ms, a tenth of what Compose takes for the same file, and a render
    keeps what it allocates until it ends anyway. Anything else goes to Typer as usual.
    Called with its own arguments (`main(argv)`: tests, embedding), it returns as any call would.
    """
    import gc

    if whole_process:
        gc.disable()
    try:
        from mlstack.cli import replay

        if replay.replay(key, env):
            sys.exit(0)
        from mlstack.cli.arguments import parse

        call = parse(args, env)
        with replay.Recording(key, env, replayable=asks_help):
            if call is not None:   # read as Typer would read it: the render runs without importing Typer
                _import_pathlib_alone()
                from mlstack.cli import outcome

                _configure_output(quiet, env)
                outcome.render(call, env, False)
            _dispatch(args, False, quiet, env)
    except SystemExit as done:
        if not whole_process or not isinstance(done.code, (int, type(None))):
            raise
        _leave(done.code or 0)
    finally:
        gc.enable()


def _import_pathlib_alone() -> None:
    """Import pathlib without urllib.parse (and the ipaddress module it imports): ~3 ms of a cold
    render's ~60, for the one function pathlib takes from it, `quote_from_bytes`, which only
    `Path.as_uri()` calls. A stand-in module lends pathlib a forwarder that imports the real
    urllib.parse when first called, and leaves sys.modules before anything else can see it: a later
    `import urllib.parse` gets the real module. Only on the Pythons whose pathlib takes exactly that
    name (3.11, 3.12), only while no other thread runs, and only where neither is imported yet;
    anything else imports pathlib as usual. tests/cli/test_import_budget.py holds it."""
    if "pathlib" in sys.modules or "urllib.parse" in sys.modules or sys.version_info[:2] not in ((3, 11), (3, 12)):
        return
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return

    def quote_from_bytes(*args, **kwargs):
        from urllib.parse import quote_from_bytes as real

        return real(*args, **kwargs)

    stand_in = type(sys)("urllib.parse")
    stand_in.quote_from_bytes = quote_from_bytes
    sys.modules["urllib.parse"] = stand_in
    # ntpath (which pathlib imports for PureWindowsPath) tries Windows' own modules six times: where there are
    # none, None in sys.modules answers each try at once with the ImportError a search of sys.path would end in
    absent = [] if sys.platform == "win32" else [name for name in ("nt", "_winapi") if name not in sys.modules]
    sys.modules.update(dict.fromkeys(absent))
    try:
        import pathlib  # noqa: F401
    finally:
        if sys.modules.get("urllib.parse") is stand_in:
            del sys.modules["urllib.parse"]
        for name in absent:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def _leave(code: int) -> None:
    """End the process now, its output written, without the interpreter's teardown: freeing every
    module's objects one by one costs ~6 ms after a render and ~45 ms after `seed` or `up` (Typer, the
    engine's client), more than some of those commands' own work. mlstack registers no exit handler and
    cleans its temporary files itself. Where a thread other than this one still runs, or a flush fails
    (a closed pipe: `mlstack render | head -1`), the interpreter exits as usual: it waits for the thread."""
    import os

    threading = sys.modules.get("threading")
    if threading is not None and any(thread.is_alive() and not thread.daemon and thread is not threading.main_thread()
                                     for thread in threading.enumerate()):
        raise SystemExit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        raise SystemExit(code) from None
    os._exit(code)


def _without_typer(args: list[str], debug: bool, quiet: bool, env: dict[str, str]) -> None:
    """A command `cli.arguments` reads exactly as Typer would runs without importing it (it exits);
    any other line returns, for Typer."""
    from mlstack.cli.arguments import parse_command

    call = parse_command(args[0], args, env)
    if call is not None:
        from mlstack.cli import outcome

        _configure_output(quiet, env)
        outcome.WITHOUT_TYPER[args[0]](call, env, debug)


def _configure_output(quiet: bool, env: dict[str, str]) -> None:
    from mlstack.report import OUTPUT   # not before a replay: a hit imports no more than it must

    OUTPUT.quiet = quiet
    OUTPUT.color = not env.get("NO_COLOR")   # no-color.org: present and not empty


def _dispatch(args: list[str], debug: bool, quiet: bool, env: dict[str, str]) -> None:
    from mlstack.cli.typer_app import run

    _configure_output(quiet, env)
    run(args, debug)


def __getattr__(name: str):
    """The app and its option choices (`cli.GpuPolicy`, ...), imported when first asked for."""
    if name.startswith("__") or name in ("typer_app", "replay", "environment", "outcome", "completion", "arguments"):   # the submodule itself: imported below, not looked up here
        raise AttributeError(name)
    from mlstack.cli import typer_app

    return getattr(typer_app, name)


class DebugLines:
    """With --debug, `mlstack: debug: ...` on stderr: the commands the engine layer runs and their exit codes."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.handler = None

    def __enter__(self) -> None:
        if not self.enabled:
            return
        import logging

        class Stderr(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                sys.stderr.write(self.format(record) + "\n")

        self.handler = Stderr()
        self.handler.setFormatter(logging.Formatter("mlstack: debug: %(message)s"))
        logger = logging.getLogger("mlstack")
        logger.addHandler(self.handler)
        logger.setLevel(logging.DEBUG)

    def __exit__(self, *exc_info) -> None:
        if self.handler is not None:
            import logging

            logger = logging.getLogger("mlstack")
            logger.removeHandler(self.handler)
            logger.setLevel(logging.NOTSET)
