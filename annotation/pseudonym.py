"""Stable annotator pseudonyms: a keyed hash (HMAC-SHA256) of the Label Studio user.

The key (CONTRABAND_PSEUDONYM_KEY) lives in the environment or the 0600 .env, never in
a release, so a pseudonym cannot be turned back into an email or user id without it,
yet the same annotator gets the same pseudonym in every pull and release.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from .secrets import get_secret

PSEUDONYM_KEY_NAME = "CONTRABAND_PSEUDONYM_KEY"


def pseudonymise(user_key: str | int, *, secret: str) -> str:
    """'annotator-' + 10 hex chars of HMAC(secret, user_key); user_key is e.g. '<server url>#<user id>'."""
    digest = hmac.new(
        secret.encode("utf-8"), str(user_key).encode("utf-8"), hashlib.sha256
    ).hexdigest()
    return f"annotator-{digest[:10]}"


def pseudonym_secret(*, workdir: Path | str = ".") -> str:
    """The pseudonym key from env/.env, generated (and stored in .env, 0600) on first use."""
    value = get_secret(PSEUDONYM_KEY_NAME, workdir=workdir, generate=lambda: secrets.token_hex(32))
    assert value is not None
    return value
