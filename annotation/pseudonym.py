"""Stable annotator pseudonyms: a keyed hash (HMAC-SHA256) of the annotator's email.

The key (CONTRABAND_PSEUDONYM_KEY) lives in the environment or the 0600 .env, never in
a release, so a pseudonym cannot be turned back into an email or user id without it,
yet the same annotator gets the same pseudonym in every pull and release. The email
(lower-cased) is what is hashed, not the server URL or the user id, so a restart on
another port, a move to another host or a database migration keeps every pseudonym.
Only a user the server no longer lists (deleted) falls back to its user id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from .secrets import get_secret

PSEUDONYM_KEY_NAME = "CONTRABAND_PSEUDONYM_KEY"


def pseudonymise(user_key: str | int, *, secret: str) -> str:
    """'annotator-' + 10 hex chars of HMAC(secret, user_key); see annotator_pseudonym."""
    digest = hmac.new(
        secret.encode("utf-8"), str(user_key).encode("utf-8"), hashlib.sha256
    ).hexdigest()
    return f"annotator-{digest[:10]}"


def annotator_pseudonym(*, email: str | None, user_id: object, secret: str) -> str:
    """The pseudonym of a Label Studio user: from the email, else (user deleted) the user id.

    Emails are compared lower-cased and stripped, as Label Studio stores them.
    """
    if email and email.strip():
        return pseudonymise(f"email:{email.strip().lower()}", secret=secret)
    return pseudonymise(f"label-studio-user:{user_id}", secret=secret)


def pseudonym_secret(*, workdir: Path | str = ".") -> str:
    """The pseudonym key from env/.env, generated (and stored in .env, 0600) on first use."""
    value = get_secret(PSEUDONYM_KEY_NAME, workdir=workdir, generate=lambda: secrets.token_hex(32))
    assert value is not None
    return value
