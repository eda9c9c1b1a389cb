"""The host side of seeding: find a plan's source on this machine, fingerprint it, stream it as tar.

Fingerprints are rsync's quick check (relative path, size, mtime) from one `os.scandir` walk:
no file is opened unless `--checksum` asks for content hashes. Images are fingerprinted by id.
"""

from __future__ import annotations

import os
import stat
import tarfile

from mlstack.records import field, record

from mlstack.core import seeding
from mlstack.core.digest import sha256
from mlstack.core.seed_copy_plan import TreeShape
from mlstack.core.seed_marker import Fingerprint, Listing
from mlstack.core.seeding import SeedPlan
from mlstack.errors import SeedError

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Callable, Iterator

CHUNK = 1 << 20
HASH_WORKERS = 4


@record
class Resolved:
    """A plan's source as found now: what to copy, from where, to where, and its fingerprint."""

    plan: SeedPlan
    fingerprint: Fingerprint
    subpath: str                        # effective: the declared one, or an HF snapshot's place
    root: str = ""                      # host directory (or archive file) the copy reads
    inner: str = ""                     # the directory to copy, relative to root ("" = root itself)
    follow_links: bool = False          # an HF snapshot's files are links into ../../blobs
    extras: dict[str, bytes] = field(default_factory=dict)   # files mlstack writes (volume-relative)
    image_id: str = ""
    shape: TreeShape | None = None      # a directory's: what the parallel copy's plan needs besides

    @property
    def copy_root(self) -> str:
        return os.path.join(self.root, self.inner) if self.inner else self.root


def missing_image(plan: SeedPlan) -> SeedError:
    image = plan.source.image
    return SeedError(f"{plan.where}: image {image} is not on this engine; mlstack never pulls "
                     f"implicitly: `docker pull {image}` (needs its registry) or build it first")


def resolve(plan: SeedPlan, image_id: Callable[[str], str | None]) -> Resolved:
    """Find the source and fingerprint it; SeedError when it is not there."""
    source = plan.source
    if source.kind == seeding.IMAGE:
        found = image_id(source.image)
        if found is None:
            raise missing_image(plan)
        return Resolved(plan, Fingerprint(f"image {found} {source.image_path}", {}, 0), plan.subpath, image_id=found)
    if source.kind == seeding.HF_MODEL:
        return _resolve_hf(plan)
    if not os.path.exists(source.path):
        raise SeedError(f"{plan.where}: seed source {source.path} does not exist")
    if source.kind == seeding.ARCHIVE:
        info = os.stat(source.path)
        identity = f"archive {source.path} {info.st_size} {info.st_mtime_ns}"
        return Resolved(plan, Fingerprint(identity, {}, info.st_size), plan.subpath, root=source.path)
    if not os.path.isdir(source.path):
        raise SeedError(f"{plan.where}: seed source {source.path} is not a directory nor a .tar, .tar.gz or .tar.zst archive")
    shape = TreeShape()
    files, total = scan(source.path, plan.subpath, shape=shape)
    return Resolved(plan, Fingerprint(f"directory {source.path}", files, total), plan.subpath, root=source.path,
                    shape=shape)


def _resolve_hf(plan: SeedPlan) -> Resolved:
    source = plan.source
    offline_hint = (f"it is not in the local Hugging Face cache ({os.path.dirname(source.path)}); downloading it "
                    f"needs the internet: `huggingface-cli download {source.model}`, then seed again (or set HF_HOME)")
    if seeding.COMMIT.fullmatch(source.revision):
        commit = source.revision
    else:
        try:
            with open(os.path.join(source.path, "refs", source.revision), encoding="ascii") as ref:
                commit = ref.read().strip()
        except OSError:
            raise SeedError(f"{plan.where}: model {source.model}@{source.revision}: {offline_hint}") from None
    snapshot = os.path.join("snapshots", commit)
    if not os.path.isdir(os.path.join(source.path, snapshot)):
        raise SeedError(f"{plan.where}: model {source.model} snapshot {commit}: {offline_hint}")
    subpath = plan.subpath or seeding.hf_snapshot_subpath(source, commit)
    extras = seeding.hf_ref_file(source, commit) if not plan.subpath else {}
    files, total = scan(os.path.join(source.path, snapshot), subpath, follow_links=True)
    for path, content in extras.items():
        files[path] = ["data", sha256(content).hexdigest()]
    identity = f"hf-cache {source.path} {commit}"
    return Resolved(plan, Fingerprint(identity, files, total), subpath, root=source.path, inner=snapshot,
                    follow_links=True, extras=extras)


def scan(root: str, prefix: str = "", follow_links: bool = False,
         shape: TreeShape | None = None) -> tuple[Listing, int]:
    """Every file and link under root: {prefix/relative path: [size, mtime_ns] | ["link", target]}, total bytes.

    follow_links: links count as what they point to (an HF snapshot); a dangling one is an error.
    Sockets, pipes and devices are not fingerprinted. `shape`, when given, gets what the copy's plan
    needs besides (core/seed_copy_plan.py).
    """
    files: Listing = {}
    total = 0
    pending = [(root, prefix)]
    while pending:
        directory, relative = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as error:
            raise SeedError(f"cannot read {directory}: {error.strerror}") from None
        for entry in entries:
            path = f"{relative}/{entry.name}" if relative else entry.name
            if shape is not None and "\n" in entry.name:
                shape.newline = True
            try:
                if entry.is_symlink() and not follow_links:
                    files[path] = ["link", os.readlink(entry.path)]
                    continue
                info = entry.stat(follow_symlinks=follow_links)
            except OSError as error:
                raise SeedError(f"cannot read {entry.path}: {error.strerror}") from None
            if stat.S_ISDIR(info.st_mode):
                pending.append((entry.path, path))
                if shape is not None:
                    shape.directories.append(path)
            elif stat.S_ISREG(info.st_mode):
                files[path] = [info.st_size, info.st_mtime_ns]
                total += info.st_size
                if shape is not None and info.st_nlink > 1:
                    shape.hard_links = True
            elif shape is not None:
                shape.others.append(path)
    return files, total


def tree_size(root: str) -> int:
    """Bytes in the regular files under root (0 when it is gone): how far a copy has come."""
    total = 0
    pending = [root]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
    return total


def sha256_files(resolved: Resolved) -> dict[str, str]:
    """Content hashes of the source's files, by volume-relative path (--checksum)."""
    prefix = resolved.subpath + "/" if resolved.subpath else ""
    paths = [path for path, entry in resolved.fingerprint.files.items() if entry[0] not in ("link", "data")]

    def one(path: str) -> tuple[str, str]:
        return path, sha256_file(os.path.join(resolved.copy_root, path[len(prefix):]))

    from concurrent.futures import ThreadPoolExecutor   # --checksum only

    with ThreadPoolExecutor(HASH_WORKERS) as pool:   # hashlib releases the GIL on large reads
        found = dict(pool.map(one, paths))
    for path, content in resolved.extras.items():
        found[path] = sha256(content).hexdigest()
    return found


def sha256_file(path: str) -> str:
    import hashlib   # OpenSSL's sha256 (it releases the GIL on large reads): only where files are hashed

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


# --- tar streams (the archive method) ---------------------------------------------------------

class TarBody:
    """A tar of the source's content under `base/` (volume-relative paths below it), owned by the
    plan's owner, then `trailer` files (name -> content, root-owned), for the Docker API.
    `only`: just these volume-relative paths.

    Its length is known before it is sent (headers are made first, file sizes are the fingerprint's),
    so the HTTP layer sends it with a Content-Length, chunk by chunk, without copying: files are
    read straight into one reused 1 MiB buffer and each chunk is a view of it (the consumer must be
    done with a chunk before it asks for the next, as the HTTP layer is). Fewer copies and fewer,
    larger writes are what keep this as fast as `docker cp`.
    """

    def __init__(self, resolved: Resolved, base: str, only: list[str] | None, on_bytes: Callable[[int], None],
                 trailer: dict[str, bytes] | None = None):
        self.pieces = list(_tar_pieces(resolved, base, only, trailer or {}))
        self.on_bytes = on_bytes
        self.length = sum(len(piece) if isinstance(piece, bytes) else piece[1] for piece in self.pieces)

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[memoryview]:
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        used = sent = 0
        for piece in self.pieces:
            if isinstance(piece, bytes):
                start = 0
                while start < len(piece):
                    count = min(len(piece) - start, CHUNK - used)
                    view[used:used + count] = piece[start:start + count]
                    used, start = used + count, start + count
                    if used == CHUNK:
                        yield view
                        used = 0
                continue
            path, left = piece
            with open(path, "rb", buffering=0) as handle:
                while left > 0:   # exactly the fingerprinted size: a file that grew since is cut there
                    count = handle.readinto(view[used:used + min(CHUNK - used, left)])
                    if not count:
                        raise SeedError(f"{path} shrank while it was being seeded; run mlstack seed again")
                    used, left, sent = used + count, left - count, sent + count
                    if used == CHUNK:
                        self.on_bytes(sent)
                        yield view
                        used = 0
        self.on_bytes(sent)
        if used:
            yield view[:used]


def _tar_pieces(resolved: Resolved, base: str, only: list[str] | None, trailer: dict[str, bytes]) -> Iterator[bytes | tuple]:
    """Headers and padding as bytes; a file's content as (path, size), read when it is sent."""
    owner = resolved.plan.owner
    prefix = resolved.subpath
    wanted = set(only) if only is not None else None
    made: set[str] = set()

    def header(name: str, info: os.stat_result, kind: bytes, size: int = 0, link: str = "") -> bytes:
        uid, gid = owner if owner else (info.st_uid, info.st_gid)
        return tar_header(f"{base}/{name}" if name else base, stat.S_IMODE(info.st_mode), uid, gid, size,
                          int(info.st_mtime), kind, link)

    def directory_stat(name: str) -> os.stat_result:
        inside = name[len(prefix):].lstrip("/") if name.startswith(prefix) else ""
        candidate = os.path.join(resolved.copy_root, inside) if inside else resolved.copy_root
        return os.stat(candidate if os.path.isdir(candidate) else resolved.copy_root)

    def directories(path: str) -> Iterator[bytes]:
        """Headers for the directories above `path` (volume-relative) not sent yet, outermost first."""
        parts = path.split("/")[:-1]
        for depth in range(len(parts) + 1):
            name = "/".join(parts[:depth])
            if name not in made:
                made.add(name)
                yield header(name, directory_stat(name), tarfile.DIRTYPE)

    yield directory_tar(_parents(base))[:-2 * tarfile.BLOCKSIZE]
    for path in sorted(resolved.fingerprint.files):
        if wanted is not None and path not in wanted:
            continue
        entry = resolved.fingerprint.files[path]
        yield from directories(path)
        if entry[0] == "data":
            content = resolved.extras[path]
            yield header(path, os.stat(resolved.copy_root), tarfile.REGTYPE, len(content)) + _padded(content)
            continue
        host = os.path.join(resolved.copy_root, path[len(prefix):].lstrip("/"))
        if entry[0] == "link":
            yield header(path, os.lstat(host), tarfile.SYMTYPE, link=entry[1])
            continue
        size = entry[0]
        yield header(path, os.stat(host), tarfile.REGTYPE, size)
        yield host, size
        if size % tarfile.BLOCKSIZE:
            yield tarfile.NUL * (tarfile.BLOCKSIZE - size % tarfile.BLOCKSIZE)
    yield from directories(prefix + "/" if prefix else "")   # an empty source still makes its place
    yield files_tar(trailer)


def tar_header(name: str, mode: int, uid: int, gid: int, size: int, mtime: int, kind: bytes, link: str = "") -> bytes:
    """The GNU tar header `tarfile` would write, built directly (tarfile takes ~35 us a header,
    a third of the stream's cost for small files); tarfile's own for long names and large numbers."""
    if kind == tarfile.DIRTYPE and not name.endswith("/"):
        name += "/"
    raw_name = name.encode("utf-8", "surrogateescape")
    raw_link = link.encode("utf-8", "surrogateescape")
    if len(raw_name) > 100 or len(raw_link) > 100 or not 0 <= size < 8 ** 11 or not 0 <= mtime < 8 ** 11 \
            or not 0 <= uid < 8 ** 7 or not 0 <= gid < 8 ** 7:
        member = tarfile.TarInfo(name)
        member.mode, member.uid, member.gid, member.size, member.mtime = mode, uid, gid, size, mtime
        member.type, member.linkname = kind, link
        return member.tobuf(tarfile.GNU_FORMAT)
    block = bytearray(raw_name.ljust(100, tarfile.NUL) + b"%07o\0%07o\0%07o\0%011o\0%011o\0" % (mode, uid, gid, size, mtime)
                      + b" " * 8 + kind + raw_link.ljust(100, tarfile.NUL) + tarfile.GNU_MAGIC + tarfile.NUL * 247)
    block[148:155] = b"%06o\0" % sum(block)
    return bytes(block)


def _parents(path: str) -> list[str]:
    """`a/b/c` -> [`a`, `a/b`] (not `a/b/c` itself)."""
    parts = path.split("/")
    return ["/".join(parts[:depth]) for depth in range(1, len(parts))]


def _padded(content: bytes) -> bytes:
    return content + tarfile.NUL * (-len(content) % tarfile.BLOCKSIZE)


def directory_tar(names: list[str]) -> bytes:
    """A tar of empty directories (root-owned, 0755): to create a place for a stream to land."""
    blocks = []
    for name in names:
        member = tarfile.TarInfo(name)
        member.type, member.mode = tarfile.DIRTYPE, 0o755
        blocks.append(member.tobuf(tarfile.GNU_FORMAT))
    return b"".join(blocks) + tarfile.NUL * (tarfile.BLOCKSIZE * 2)


def files_tar(files: dict[str, bytes], mode: int = 0o644) -> bytes:
    """A small tar of in-memory files (the helper's script, its settings, the marker)."""
    blocks = []
    for name, content in files.items():
        member = tarfile.TarInfo(name)
        member.size, member.mode = len(content), mode
        blocks.append(member.tobuf(tarfile.GNU_FORMAT) + _padded(content))
    return b"".join(blocks) + tarfile.NUL * (tarfile.BLOCKSIZE * 2)


def archive_chunks(path: str, archive_format: str, on_bytes: Callable[[int], None]) -> Iterator[bytes]:
    """An archive file as the engine can take it: tar, gzip, bzip2 and xz as they are (the engine
    unpacks them); zstd unpacked here (the engine's put_archive does not read it)."""
    if archive_format == "zst":
        handle = _zstd_reader(path)
    else:
        handle = open(path, "rb")
    sent = 0
    with handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            sent += len(block)
            on_bytes(sent)
            yield block


def _zstd_reader(path: str):
    try:
        from compression import zstd  # Python >= 3.14

        return zstd.open(path, "rb")
    except ImportError:
        pass
    try:
        import zstandard
    except ImportError:
        raise SeedError(f"{path}: reading .tar.zst needs the zstandard package (pip install zstandard) "
                        "or Python 3.14; or use a .tar or .tar.gz archive") from None
    return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)
