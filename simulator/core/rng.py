"""The one source of chance.

Two kinds of randomness, both derived from the one seed:

- `Streams.generator(*keys)`: a numpy Generator per named purpose (fault rules, tokens, ...),
  from `SeedSequence([seed, *keys])`, so purposes never perturb each other.
- `hash_uniform(...)`: counter-based randomness for per-vehicle draws inside vectorised code.
  A vehicle's draw depends only on (seed, its uid, the tick counter, the stream), so adding a
  vehicle perturbs nobody else and a tick over 100,000 vehicles needs no per-vehicle generator
  objects (which would cost far more than the 2 KB a vehicle may use).
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from faker import Faker

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser: a bijective, well-mixed hash of uint64 arrays (wraps by design)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def stream_id(name: str) -> int:
    """A stable small integer for a named stream ("gps", "rider", ...)."""
    return zlib.crc32(name.encode())


def hash_bits(
    seed: int, uid: npt.NDArray[np.integer[Any]], counter: int, stream: int
) -> npt.NDArray[np.uint64]:
    """64 random bits per uid, a pure function of its arguments."""
    key = _mix64(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64) ^ np.uint64(stream))
    c = _mix64(key ^ (np.array([counter & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64) * _GOLDEN))
    return _mix64(uid.astype(np.uint64) * _GOLDEN ^ c)


def hash_uniform(
    seed: int, uid: npt.NDArray[np.integer[Any]], counter: int, stream: int
) -> npt.NDArray[np.float64]:
    """Uniform floats in [0, 1), one per uid."""
    return (hash_bits(seed, uid, counter, stream) >> np.uint64(11)).astype(np.float64) * (
        1.0 / (1 << 53)
    )


def hash_normal(
    seed: int, uid: npt.NDArray[np.integer[Any]], counter: int, stream: int
) -> npt.NDArray[np.float64]:
    """Standard normal floats, one per uid (Box-Muller over two hashed uniforms)."""
    u1 = hash_uniform(seed, uid, counter, stream)
    u2 = hash_uniform(seed, uid, counter, stream ^ 0x5BD1E995)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


class Streams:
    """Named, independent random streams derived from one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)

    def reseed(self, seed: int) -> None:
        self.seed = int(seed)

    def generator(self, *keys: str | int) -> np.random.Generator:
        ints = [k if isinstance(k, int) else stream_id(k) for k in keys]
        return np.random.default_rng(np.random.SeedSequence([self.seed, *ints]))

    def faker(self, locale: str, *keys: str | int) -> Faker:
        """A Faker of `locale` seeded from the seed and `keys`: the same names every run."""
        from faker import Faker  # only where names are made: importing it takes a while

        fake = Faker(locale)
        fake.seed_instance(int(self.generator("faker", locale, *keys).integers(0, 2**63)))
        return fake
