"""Secrets live in the environment or a 0600 .env; pseudonyms are stable keyed hashes."""

import os
import stat

import pytest

from annotation.pseudonym import pseudonym_secret, pseudonymise
from annotation.secrets import SecretsFileError, get_secret, read_env_file, set_env_values


def test_secrets_env_file_is_created_owner_only(tmp_path):
    path = set_env_values({"A_TOKEN": "s3cret"}, workdir=tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_env_file(tmp_path) == {"A_TOKEN": "s3cret"}


def test_secrets_world_readable_env_file_is_refused_without_showing_values(tmp_path):
    path = set_env_values({"A_TOKEN": "s3cret"}, workdir=tmp_path)
    os.chmod(path, 0o644)
    with pytest.raises(SecretsFileError) as info:
        read_env_file(tmp_path)
    assert "chmod 600" in str(info.value) and "s3cret" not in str(info.value)


def test_secrets_environment_wins_over_env_file(tmp_path, monkeypatch):
    set_env_values({"A_TOKEN": "from-file"}, workdir=tmp_path)
    monkeypatch.setenv("A_TOKEN", "from-env")
    assert get_secret("A_TOKEN", workdir=tmp_path) == "from-env"


def test_secrets_generated_once_then_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("CONTRABAND_PSEUDONYM_KEY", raising=False)
    first = pseudonym_secret(workdir=tmp_path)
    assert pseudonym_secret(workdir=tmp_path) == first
    assert len(first) == 64


def test_pseudonymise_is_stable_keyed_and_hides_the_user():
    a = pseudonymise("http://127.0.0.1:8080#7", secret="k1")
    assert a == pseudonymise("http://127.0.0.1:8080#7", secret="k1")
    assert a != pseudonymise("http://127.0.0.1:8080#8", secret="k1")
    assert a != pseudonymise("http://127.0.0.1:8080#7", secret="k2")
    assert a.startswith("annotator-") and len(a) == len("annotator-") + 10
    assert "127.0.0.1" not in a
