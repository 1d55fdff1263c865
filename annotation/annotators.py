"""Onboarding annotators without the admin UI: `contraband annotators add EMAIL...`.

Label Studio's API can create users but not give them a password, and its sign-up page
refuses an email that already has an account. So:

- on the embedded server, each new annotator is created in the organization and given a
  random one-time password (set with Label Studio's own `reset_password` command on the
  data dir). The passwords are written to a 0600 file, never printed: the admin hands each
  one over privately;
- on an external server (LABEL_STUDIO_URL), nobody is created: the command prints the
  organization's invite link, with which each annotator signs up under their own email and
  password (and lands in the organization).

An email that already has an account is only put in the organization; its password is never
changed. Annotators are pseudonymised from their email in releases (annotation.pseudonym).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from corpus.errors import InputError, LabelStudioError

LOGINS_FILE = Path(".contraband") / "annotator-logins.txt"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class AnnotatorAccount:
    """One email given to `annotators add` and what happened to it."""

    email: str
    # "created" (one-time password in the logins file), "existing", "invite" (external
    # server: sign up with the invite link), "to-create" (dry run)
    status: str
    user_id: int | None = None

    def how_to_log_in(self, *, url: str, logins_file: Path | None) -> str:
        """The line telling the admin how this annotator gets in (no secret in it)."""
        if self.status == "created":
            return (
                f"{self.email}: account created; log in at {url}/user/login/ with this email "
                f"and the one-time password in {logins_file} (hand it over privately)"
            )
        if self.status == "to-create":
            return f"{self.email}: would be created with a one-time password (dry run)"
        if self.status == "existing":
            return f"{self.email}: already has an account (password unchanged); logs in as before"
        return f"{self.email}: sign up with this email at the invite link below"


@dataclass(frozen=True)
class AnnotatorsOutcome:
    """The accounts and where the one-time passwords (or the invite link) are."""

    url: str
    accounts: tuple[AnnotatorAccount, ...]
    logins_file: Path | None = None
    invite_url: str | None = None

    def lines(self) -> list[str]:
        """One line per annotator, the invite link if any, and a summary line."""
        out = [a.how_to_log_in(url=self.url, logins_file=self.logins_file) for a in self.accounts]
        if self.invite_url:
            out.append(
                f"invite link (anyone who has it can join the organization: share it only "
                f"with the annotators): {self.invite_url}"
            )
        counts = {
            s: sum(a.status == s for a in self.accounts)
            for s in ("created", "to-create", "existing", "invite")
        }
        invited = counts["invite"]
        created = (
            f"{counts['to-create']} would be created"
            if counts["to-create"]
            else f"{counts['created']} created"
        )
        out.append(
            f"annotators: {len(self.accounts)} emails -> {created}, "
            f"{counts['existing']} already had an account, {invited} to sign up with the "
            f"invite link; Label Studio at {self.url}"
        )
        return out


def normalise_emails(emails: Sequence[str]) -> list[str]:
    """Lower-cased, de-duplicated emails in the given order; every malformed one is an error.

    Lower case because Label Studio's login form lower-cases what is typed: an account
    created as 'Ann@X.org' could never log in.
    """
    bad = [e for e in emails if not _EMAIL.match(e.strip())]
    if bad:
        raise InputError(
            f"not an email address: {', '.join(map(repr, bad))}; give each annotator's "
            "email, e.g. `contraband annotators add ann@example.org`"
        )
    seen: dict[str, None] = {}
    for email in emails:
        seen.setdefault(email.strip().lower(), None)
    return list(seen)


def append_logins(path: Path, logins: Sequence[tuple[str, str]], *, url: str) -> Path:
    """Append `email  password  login URL` lines to a file only its owner can read (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        if handle.tell() == 0:
            handle.write(
                "# one-time Label Studio passwords of new annotators: hand each over "
                "privately, then delete this file\n"
            )
        for email, password in logins:
            handle.write(f"{email}  {password}  {url}/user/login/\n")
    os.chmod(path, 0o600)
    return path


def add_annotators(
    emails: Sequence[str], *, workdir: Path = Path("."), dry_run: bool = False
) -> AnnotatorsOutcome:
    """Create annotator accounts in the organization (embedded server) or point to the invite.

    See the module docstring. With `dry_run`, only says what would happen.
    """
    from .labelstudio.client import LabelStudio
    from .labelstudio.server import resolve_connection, server_status, set_user_password

    wanted = normalise_emails(emails)
    client = LabelStudio(resolve_connection(workdir=workdir))
    known = {email.lower(): user_id for user_id, email in client.list_user_emails().items()}
    embedded = server_status(workdir=workdir)
    if embedded is None or embedded.url.rstrip("/") != client.url.rstrip("/"):
        accounts = tuple(
            AnnotatorAccount(e, "existing", known[e])
            if e in known
            else AnnotatorAccount(e, "invite")
            for e in wanted
        )
        invite = client.invite_url() if any(a.status == "invite" for a in accounts) else None
        return AnnotatorsOutcome(client.url, accounts, invite_url=invite)
    accounts_list: list[AnnotatorAccount] = []
    logins_file = Path(workdir) / LOGINS_FILE
    for email in wanted:
        if dry_run:
            accounts_list.append(
                AnnotatorAccount(
                    email, "existing" if email in known else "to-create", known.get(email)
                )
            )
            continue
        user_id = client.create_user(email)  # also puts an existing user in the organization
        if email in known:
            accounts_list.append(AnnotatorAccount(email, "existing", user_id))
            continue
        password = secrets.token_urlsafe(12)
        try:
            set_user_password(workdir=workdir, email=email, password=password)
        except LabelStudioError as exc:
            raise LabelStudioError(
                f"{exc}. The account {email} exists but has no password yet: run "
                f"`label-studio reset_password --username {email}` with "
                f"LABEL_STUDIO_BASE_DATA_DIR={Path(workdir).resolve() / 'label-studio-data'}"
            ) from None
        append_logins(logins_file, [(email, password)], url=client.url)  # at once: never lost
        accounts_list.append(AnnotatorAccount(email, "created", user_id))
    return AnnotatorsOutcome(client.url, tuple(accounts_list), logins_file=logins_file)
