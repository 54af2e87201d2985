"""Push signatures, by the reference's four steps. Partners may import this module on its own:

    from simulator.push.signing import verify_signature
    ok = verify_signature(await request.post(), client_secret)   # or the raw body, str or bytes

1. Every received field except `signature`, ordered by key in ASCII order.
2. Joined as "key1=value1&key2=value2".
3. "&client_secret=<secret>" appended.
4. MD5 of that text as 32 lowercase hexadecimal characters.

Only the standard library is used, so a partner's receiver needs nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

SIGNATURE = "signature"

# What a receiver may hold: the raw body, a parsed form (dict, aiohttp MultiDict), or pairs.
Form = str | bytes | Mapping[str, Any] | Iterable[tuple[str, Any]]


def _pairs(form: Form) -> list[tuple[str, str]]:
    if isinstance(form, bytes):
        form = form.decode("utf-8")
    if isinstance(form, str):
        # Step 1 splits the received string on "&" and "="; percent-decoding first makes the
        # raw body and the parsed form agree (the simulator never sends a value that needs it).
        return parse_qsl(form, keep_blank_values=True)
    items = form.items() if isinstance(form, Mapping) else form
    return [(str(k), str(v)) for k, v in items]


def canonical(form: Form) -> str:
    """Steps 1 and 2: all fields but the signature, sorted by key, as `k=v&k=v`."""
    if type(form) is dict:  # keys are unique: sorting the keys is sorting the pairs
        return "&".join([f"{k}={form[k]}" for k in sorted(form) if k != SIGNATURE])
    pairs = sorted(p for p in _pairs(form) if p[0] != SIGNATURE)
    return "&".join([f"{k}={v}" for k, v in pairs])


def sign(fields: Form, secret: str) -> str:
    """Steps 3 and 4: the signature of `fields` under the platform's client secret."""
    text = f"{canonical(fields)}&client_secret={secret}"
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def verify_signature(form: Form, secret: str) -> bool:
    """True when `form` carries the signature its other fields have under `secret`."""
    try:
        pairs = _pairs(form)
    except (UnicodeDecodeError, ValueError):
        return False
    given = [v for k, v in pairs if k == SIGNATURE]
    if len(given) != 1:
        return False
    expected = sign(pairs, secret)
    # Hex digits may arrive in either case; compare in constant time all the same.
    return hmac.compare_digest(given[0].strip().lower().encode(), expected.encode())
