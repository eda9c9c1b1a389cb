"""sha256 without hashlib: `_sha256`, the standard library's own implementation, gives the same digest
without loading OpenSSL (~4 ms warm, ~15 ms on a cold start) for the few bytes a render's header or a
seed's fingerprint hashes. Files are hashed with hashlib's, which releases the GIL on large reads."""

try:
    from _sha256 import sha256
except ImportError:  # pragma: no cover - another Python
    from hashlib import sha256

__all__ = ["sha256"]
