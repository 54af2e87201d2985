"""Tenants (platforms) and their OAuth2 access tokens, on the virtual clock.

Token rule (DESIGN.md, from the reference's Auth section): while a platform's newest token has
more than `OVERLAP_S` seconds left, asking again returns that same token with the remaining
`expires_in`; inside the last `OVERLAP_S` seconds a new token is issued, and the old one stays
valid until it expires, so both work during the hand-over.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import numpy as np

from simulator.core.geo import City, city_for

OVERLAP_S = 300
DEFAULT_TOKEN_LIFETIME_S = 43_200  # the reference's example answers expires_in 43199
MAX_TOKEN_LIFETIME_S = 86_400  # "its available value is within 86400 seconds"


@dataclass
class Platform:
    code: str  # client_id, e.g. "A20081"
    secret: str  # client_secret; also the push signing key
    callback_url: str | None = None
    index: int = 0
    # How its pushes look: "v2" (the reference) or "v1", the first generation's status pushes at
    # {callback}/vehicle/status with vehicleCode (push/outbox.py).
    push_format: str = "v2"

    @property
    def city(self) -> City:
        return city_for(self.code)

    def to_json(self) -> dict[str, object]:
        return {
            "clientId": self.code,
            "clientSecret": self.secret,
            "callbackUrl": self.callback_url,
            "region": self.code[:1].upper(),
            "city": self.city.name,
            "pushFormat": self.push_format,
        }


@dataclass
class Token:
    value: str
    platform: Platform
    expires_at: float  # virtual epoch seconds

    def remaining(self, now: float) -> int:
        return max(0, int(self.expires_at - now))


TOKEN_CLOCKS = ("virtual", "wall")
PUSH_FORMATS = ("v2", "v1")


@dataclass
class Tokens:
    """The issued tokens. They expire on the virtual clock, or (`clock="wall"`, serve
    --token-clock wall) on the wall clock, for clients that cache a token by their own clock and
    never react to 15101 while a demo jumps the virtual clock by days."""

    rng: np.random.Generator
    lifetime: int = DEFAULT_TOKEN_LIFETIME_S
    by_value: dict[str, Token] = field(default_factory=dict)
    newest: dict[str, Token] = field(default_factory=dict)  # by platform code
    clock: str = "virtual"  # one of TOKEN_CLOCKS

    def __post_init__(self) -> None:
        # "its available value is within 86400 seconds"
        if not 0 < self.lifetime <= MAX_TOKEN_LIFETIME_S:
            raise ValueError(f"token lifetime must be within 1-{MAX_TOKEN_LIFETIME_S} s")
        if self.clock not in TOKEN_CLOCKS:
            raise ValueError(f"token clock must be one of {', '.join(TOKEN_CLOCKS)}")

    def now(self, virtual: float) -> float:
        """The time tokens are issued and expire at: `virtual`, or the wall clock's."""
        return time.time() if self.clock == "wall" else virtual

    def use_clock(self, clock: str, virtual: float) -> None:
        """Switch clocks; every token keeps the seconds it had left."""
        if clock not in TOKEN_CLOCKS:
            raise ValueError(f"token clock must be one of {', '.join(TOKEN_CLOCKS)}")
        before = self.now(virtual)
        self.clock = clock
        shift = self.now(virtual) - before
        for token in self.by_value.values():
            token.expires_at += shift
        for token in self.newest.values():
            if token.value not in self.by_value:  # the same object when it is there
                token.expires_at += shift

    def reset(self, rng: np.random.Generator) -> None:
        """No tokens, drawing new values from `rng` (a reset keeps this object)."""
        self.rng = rng
        self.by_value = {}
        self.newest = {}

    def copy_from(self, other: Tokens) -> None:
        """Take `other`'s tokens and random stream (a snapshot load, read into `other` first)."""
        self.rng, self.by_value, self.newest = other.rng, other.by_value, other.newest
        self.clock = other.clock

    def _new_value(self) -> str:
        return str(uuid.UUID(int=int(self.rng.integers(0, 2**63)) << 64
                             | int(self.rng.integers(0, 2**63)), version=4))

    def grant(self, platform: Platform, now: float, value: str | None = None) -> Token:
        """Answer a client-credentials request: the current token, or a new one near expiry."""
        current = self.newest.get(platform.code)
        if value is None and current is not None and current.expires_at - now > OVERLAP_S:
            return current
        self._purge(now)
        token = Token(value or self._new_value(), platform, now + self.lifetime)
        self.by_value[token.value] = token
        self.newest[platform.code] = token
        return token

    def verify(self, value: str, now: float) -> Platform | None:
        token = self.by_value.get(value)
        if token is None or now >= token.expires_at:
            return None
        return token.platform

    def revoke_platform(self, code: str) -> None:
        self.by_value = {v: t for v, t in self.by_value.items() if t.platform.code != code}
        self.newest.pop(code, None)

    def _purge(self, now: float) -> None:
        expired = [v for v, t in self.by_value.items() if now >= t.expires_at]
        for v in expired:
            del self.by_value[v]

    def to_json(self, now: float) -> list[dict[str, object]]:
        return [
            {"accessToken": t.value, "clientId": t.platform.code, "expiresIn": t.remaining(now)}
            for t in self.by_value.values()
            if now < t.expires_at
        ]
