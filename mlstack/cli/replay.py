"""Replaying an invocation: a render to standard output (or a help text) is written again, without running,
while nothing it depended on has changed (the validated-render cache).

An entry is keyed by the invocation: its arguments as typed, the working directory, the whole process
environment, the terminal's size, Python and the directories its libraries come from. It holds what the
command wrote (standard output, standard error) and every observation it made of the file system while it
ran, recorded at the `os` layer so that no code path can read an input the cache does not know about: each
file opened, each path looked at (its type, and a file's size and modification time), each directory listed
(its entries), each link read; and mlstack's own code: each of its modules the run imported (size and
modification time) and the listing of their directories. A hit makes every observation again first: any
difference is a miss, and the command runs.

A file read is known by its status (size, modification and change times to the nanosecond, inode; looked up
on the file opened, as NFS revalidates it) where its last change is older than the recording by more than
RACY_NS: any later write gives it another change time, which no program can set. A file changed just before
or while it was read (a `.env` an editor just saved) is known by the hash of its content as well, as git
treats a "racily clean" file. An invocation that failed, wrote anything besides its output (the shipped templates, `-o FILE`) or read a file
that changed again before its hash was taken is not stored; nor is any but a render that said so
(`Result.replayable`) or a help text (click prints it and exits before any command runs). Any other input
that changed while the command ran differs from what the entry holds: the next lookup misses.

Entries live in MLSTACK_CACHE_DIR (default $XDG_CACHE_HOME/mlstack, else ~/.cache/mlstack), at most ENTRIES
of them; MLSTACK_CACHE_DIR=off turns the cache off. Only the standard library's cheapest modules are imported
here: a hit must cost less than importing the CLI.
"""

from __future__ import annotations

import builtins
import io
import marshal
import os
import stat
import sys
import time

FORMAT = 2          # of an entry; part of the key
RACY_NS = 3 * 10**9  # a file changed less long before its recording began is also hashed (any file system's clock step)
ENTRIES = 128       # stored outputs kept; the oldest go first
_WRITE_MODES = frozenset("wax+")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# os functions that change the file system: a render that calls one is not replayable
_CHANGES = ("mkdir", "makedirs", "replace", "rename", "renames", "remove", "unlink", "rmdir", "removedirs",
            "chmod", "chown", "utime", "symlink", "link", "truncate", "mkfifo", "mknod")
_recording: Recording | None = None
_last_key: tuple[tuple, str] | None = None   # ((args, env, working directory), key): invocation_key's last answer


def cache_dir(env: dict[str, str]) -> str | None:
    configured = env.get("MLSTACK_CACHE_DIR")
    if configured == "off":
        return None
    if configured:
        return configured
    base = env.get("XDG_CACHE_HOME") or (os.path.join(env["HOME"], ".cache") if env.get("HOME") else "")
    return os.path.join(base, "mlstack") if base else None


def invocation_key(args: list[str], env: dict[str, str]) -> str:
    """What the invocation is, apart from the files it reads: a change to any of it is another entry.
    A lookup that misses and then its recording ask in turn (~1.5 ms each): the second gets the first's
    answer, once, for the same arguments, environment and directory (microseconds apart)."""
    global _last_key
    last, _last_key = _last_key, None
    if last is not None and last[0] == (args, env, os.getcwd()):
        return last[1]
    parts = (FORMAT, sys.version, sys.executable, os.getcwd(), sys.argv[0], tuple(args), tuple(sorted(env.items())),
             _terminal(), tuple(_stat_or_none(entry) for entry in sys.path[1:] if entry))
    key = _blake2b(repr(parts).encode("utf-8", "surrogateescape")).hex()
    _last_key = ((list(args), dict(env), os.getcwd()), key)
    return key


# sys.path[1:]: the directories the libraries come from (one installed or removed changes its directory);
# sys.path[0] is the script's directory or, with -m, the working directory, whose contents are no library.


def _blake2b(data: bytes) -> bytes:
    """A 20-byte BLAKE2b of `data`; its module is imported when the cache is on, not before."""
    try:  # without hashlib's OpenSSL start-up (~4 ms)
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover - another Python
        from hashlib import blake2b
    return blake2b(data, digest_size=20).digest()


def _terminal() -> tuple:
    """Help texts are wrapped to the terminal's width."""
    try:
        return tuple(os.get_terminal_size(sys.__stdout__.fileno())), sys.__stdout__.isatty()
    except (OSError, AttributeError, ValueError):
        return ()


def _code_observations(modules: dict | None = None) -> list[tuple[str, str, object]]:
    """mlstack's modules the run imported (all of them are in sys.modules when it ends), each file's status, and
    the listing of each of their directories (a module added there could come first: a package `x/` before
    `x.py`). Not byte code (it follows its source); the shipped templates a render reads, so observes."""
    files = sorted({module.__file__ for name, module in list((sys.modules if modules is None else modules).items())
                    if (name == "mlstack" or name.startswith("mlstack.")) and getattr(module, "__file__", None)})
    directories = sorted({os.path.dirname(path) for path in files})
    return [("stat", path, _observe("stat", path)) for path in files] + \
           [("list", directory, _observe("list", directory)) for directory in directories]


def _opened_status(path: str) -> tuple:
    """`_stat_or_none`'s answer for a file read, taken from the file opened: NFS revalidates a file's attributes
    when it is opened (close-to-open), where a plain stat may answer from its attribute cache for up to a minute
    after another machine changed the file. Non-blocking, so that a FIFO cannot hold a lookup up."""
    descriptor = _os_open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        return _status(os.fstat(descriptor))
    finally:
        os.close(descriptor)


def _stat_or_none(path: str) -> tuple | None:
    """A file's type, size, modification and change times and inode; through the unpatched stat, so that a
    recording does not observe its own checks."""
    try:
        return _status(_stat(path))
    except OSError:
        return None


def _status(status: os.stat_result) -> tuple:
    """What identifies a file's content while it is unchanged: type, size, modification time, inode, change time."""
    return (stat.S_IFMT(status.st_mode), status.st_size, status.st_mtime_ns, status.st_ino, status.st_ctime_ns)


# --- observations: made while recording, made again before a replay ------------------------------

def _observe(kind: str, path: str) -> object:
    try:
        if kind == "file":   # a file read whose last change is older than its recording: its status says it
            return _opened_status(path)
        if kind == "read":   # one changed just before or while it was read: its content too
            with _open(path, "rb") as stream:
                return _blake2b(stream.read())
        if kind in ("stat", "lstat"):
            status = _stat(path) if kind == "stat" else _lstat(path)
            mode = status.st_mode
            return (mode,) if stat.S_ISDIR(mode) else (mode, status.st_size, status.st_mtime_ns)
        if kind == "list":
            with _scandir(path) as entries:
                return tuple(sorted((entry.name, entry.is_dir(follow_symlinks=False), entry.is_symlink())
                                    for entry in entries))
        if kind == "link":
            return _readlink(path)
    except OSError as error:
        return ("error", error.errno)
    raise ValueError(kind)


def _unchanged(observations: list[tuple[str, str, object]]) -> bool:
    return all(_observe(kind, path) == seen for kind, path, seen in observations)


# --- replay -------------------------------------------------------------------------------------

def replay(args: list[str], env: dict[str, str]) -> bool:
    """Write a stored render's output again if every one of its inputs is as it was; else False."""
    directory = cache_dir(env)
    if directory is None:
        return False
    try:
        with _open(os.path.join(directory, invocation_key(args, env)), "rb") as stream:
            entry = marshal.loads(stream.read())   # not marshal.load(stream): it reads the file a few bytes at a time
    except (OSError, EOFError, ValueError, TypeError):
        return False
    if not _unchanged(entry["observations"]):
        return False
    for stream, chunks in ((sys.stderr, entry["stderr"]), (sys.stdout, entry["stdout"])):
        for chunk in chunks:
            if isinstance(chunk, bytes):
                stream.flush()
                stream.buffer.write(chunk)
            else:
                stream.write(chunk)
        stream.flush()
    return True


def replayable() -> None:
    """Said of a command's output that is a function of its invocation and the files it read (a render to
    standard output, `Result.replayable`): if it is being recorded, it may be stored."""
    if _recording is not None:
        _recording.replayable = True


class Recording:
    """Around one command run: what it observes of the file system and what it writes to stdout and stderr."""

    def __init__(self, args: list[str], env: dict[str, str], replayable: bool = False) -> None:
        self.directory = cache_dir(env)
        self.key = invocation_key(args, env) if self.directory else ""
        self.observations: dict[tuple[str, str], object] = {}
        self.stdout: list[str | bytes] = []   # in order: text, and bytes written to the stream's buffer
        self.stderr: list[str | bytes] = []
        self.replayable = replayable
        self.changed_files = False
        self.started_ns = time.time_ns()
        self._saved: list[tuple[object, str, object]] = []

    def __enter__(self) -> Recording:
        global _recording
        if self.directory is None:
            return self
        _recording = self
        self._patch(builtins, "open", self._opened(_open))
        self._patch(io, "open", self._opened(_open))
        self._patch(os, "open", self._os_opened)
        for name, kind in (("stat", "stat"), ("lstat", "lstat"), ("scandir", "list"), ("listdir", "list"),
                           ("readlink", "link")):
            self._patch(os, name, self._observing(getattr(os, name), kind))
        self._patch(os, "access", self._observing(os.access, "stat"))
        for name in _CHANGES:
            if hasattr(os, name):
                self._patch(os, name, self._changing(getattr(os, name)))
        self._patch(sys, "stdout", _Tee(sys.stdout, self.stdout))
        self._patch(sys, "stderr", _Tee(sys.stderr, self.stderr))
        return self

    def __exit__(self, kind, error, traceback) -> None:
        global _recording
        if self.directory is None:
            return
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)
        _recording = None
        succeeded = kind is None or (kind is SystemExit and error.code in (0, None))
        try:
            if succeeded and self.replayable and not self.changed_files:
                self._store()
                _prune(self.directory)
        except Exception:  # noqa: BLE001 - a cache that cannot be written is no cache, never an error
            pass

    def _store(self) -> None:
        """Each observation as the run made it: what the run acted on. One that changed since is a miss when the
        entry is next looked up, as any change is. A file read whose last change is less than RACY_NS older than
        the recording is hashed here, once, since its status alone could miss a write within the same tick of
        the file system's clock: it must still have the status it had when it was opened (to the nanosecond), or
        the hash could be of content the run did not read, and nothing is stored."""
        observations = []
        racy_after = self.started_ns - RACY_NS
        for (kind, path), seen in self.observations.items():
            if kind == "read":
                if seen is not None and max(seen[2], seen[4]) < racy_after:
                    kind = "file"
                elif _stat_or_none(path) != seen:
                    return   # changed while the render ran: what it wrote may match neither version
                else:
                    seen = _observe(kind, path)
            observations.append((kind, path, seen))
        observations += _code_observations()
        self._write(self.key, {"observations": observations, "stdout": self.stdout, "stderr": self.stderr})

    def _write(self, name: str, value: object) -> None:
        os.makedirs(self.directory, exist_ok=True)
        temporary = os.path.join(self.directory, f".{name}.{os.getpid()}.tmp")
        with _open(temporary, "wb") as stream:
            stream.write(marshal.dumps(value))
        os.replace(temporary, os.path.join(self.directory, name))

    # the wrappers: each calls the original, then records what it saw

    def _patch(self, owner: object, name: str, replacement: object) -> None:
        self._saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    def _see(self, kind: str, path: object) -> None:
        if isinstance(path, int) or path is None:
            self.changed_files = True   # a file descriptor: where it points is not known here
            return
        key = (kind, os.path.abspath(os.fsdecode(path)))
        if key not in self.observations:   # a file read: its status now, its content when the run is stored
            self.observations[key] = _stat_or_none(key[1]) if kind == "read" else _observe(*key)

    def _opened(self, original):
        def opened(file, mode="r", *args, **kwargs):
            if any(letter in _WRITE_MODES for letter in mode):
                self.changed_files = True
            else:
                self._see("read", file)
            return original(file, mode, *args, **kwargs)
        return opened

    def _os_opened(self, path, flags, *args, **kwargs):
        if flags & _WRITE_FLAGS or kwargs.get("dir_fd") is not None:
            self.changed_files = True
        else:
            self._see("read", path)
        return _os_open(path, flags, *args, **kwargs)

    def _observing(self, original, kind: str):
        def observed(path=".", *args, **kwargs):
            if kwargs.get("dir_fd") is not None:
                self.changed_files = True
            elif kind == "stat" and kwargs.get("follow_symlinks") is False:
                self._see("lstat", path)
            else:
                self._see(kind, path)
            return original(path, *args, **kwargs)
        return observed

    def _changing(self, original):
        def changing(*args, **kwargs):
            self.changed_files = True
            return original(*args, **kwargs)
        return changing


class _Tee:
    """A stream that also keeps what is written to it (and to its binary buffer, as click does)."""

    def __init__(self, stream, kept: list) -> None:
        self._stream, self._kept = stream, kept

    def write(self, data):
        self._kept.append(data if isinstance(data, (str, bytes)) else bytes(data))
        return self._stream.write(data)

    @property
    def buffer(self):
        return _Tee(self._stream.buffer, self._kept)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _prune(directory: str) -> None:
    """The oldest entries past ENTRIES removed; each entry's time is read only when there are too many."""
    with _scandir(directory) as found:   # directories are not entries: catalogs/ holds the fetched catalogs
        entries = [entry for entry in found if not entry.name.startswith(".") and not entry.is_dir(follow_symlinks=False)]
    if len(entries) > ENTRIES:
        for _, path in sorted((entry.stat().st_mtime_ns, entry.path) for entry in entries)[:-ENTRIES]:
            os.unlink(path)


# the originals, for the cache's own work while a recording has replaced them
_open, _os_open, _stat, _lstat, _scandir, _readlink = builtins.open, os.open, os.stat, os.lstat, os.scandir, os.readlink
