"""Database secrets (TOTP keys, webhook signing secrets), encrypted with keys from the environment.

Someone who reads a backup or the database alone must not be able to sign webhooks as us or generate
staff members' second-factor codes. Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from
``cryptography``) under ``FIELD_ENCRYPTION_KEYS``: comma-separated Fernet keys, the first encrypts and every
one decrypts (``MultiFernet``), so a key is rotated by putting a new one first, running ``manage.py
rotate_encryption_keys`` and then dropping the old one. Without the variable a key is derived from
``SECRET_KEY``, so development needs no setup; production should set it (``check --deploy`` says so), since
with a derived key a changed SECRET_KEY leaves every stored secret unreadable.

A stored value is ``fernet:`` followed by the token. A value without the prefix was written before
encryption existed (the migrations encrypt them all) and is read as it is.
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from common.env import env_list

PREFIX = "fernet:"
KEYS_VARIABLE = "FIELD_ENCRYPTION_KEYS"
GENERATE_HINT = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


class DecryptionError(ImproperlyConfigured):
    """A stored secret that none of the configured keys opens: a key was dropped or changed too early."""


def field_encryption_keys(*, secret_key: str) -> list[str]:
    """``FIELD_ENCRYPTION_KEYS``, checked; without it, one key derived from SECRET_KEY.

    Production starts without the variable (``check --deploy`` warns, see ``derived_key_check``) so that a
    first deployment with only the documented essentials works; the README tells operators to set it.
    """
    keys = env_list(KEYS_VARIABLE)
    if not keys:
        digest = hashlib.sha256(f"distributor field encryption:{secret_key}".encode()).digest()
        return [base64.urlsafe_b64encode(digest).decode()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                f"{KEYS_VARIABLE}: key {position} is not a Fernet key (32 url-safe base64-encoded bytes; "
                f"make one with: {GENERATE_HINT})."
            ) from None
    return keys


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def is_encrypted(stored: str) -> bool:
    return stored.startswith(PREFIX)


def encrypt(text: str) -> str:
    return PREFIX + _current().encrypt(text.encode()).decode()


def _undecryptable() -> DecryptionError:
    return DecryptionError(
        f"A stored secret cannot be decrypted with any key in {KEYS_VARIABLE}: keep the key it was "
        "encrypted with in the list (after the new one) until manage.py rotate_encryption_keys has run."
    )


def decrypt(stored: str) -> str:
    """The plain text of ``stored``; a value from before encryption is returned as it is."""
    if not is_encrypted(stored):
        return stored
    try:
        return _current().decrypt(stored.removeprefix(PREFIX).encode()).decode()
    except InvalidToken:
        raise _undecryptable() from None


def reencrypt(stored: str) -> str:
    """``stored`` encrypted with the first key (plain text from before encryption is encrypted)."""
    if not is_encrypted(stored):
        return encrypt(stored)
    try:
        return PREFIX + _current().rotate(stored.removeprefix(PREFIX).encode()).decode()
    except InvalidToken:
        raise _undecryptable() from None


@register(Tags.security, deploy=True)
def derived_key_check(app_configs, **kwargs) -> list[Warning]:
    if env_list(KEYS_VARIABLE):
        return []
    return [
        Warning(
            f"{KEYS_VARIABLE} is not set: stored secrets are encrypted with a key derived from SECRET_KEY, "
            "so changing SECRET_KEY would make them unreadable.",
            hint=f"Set {KEYS_VARIABLE} to a Fernet key of its own (make one with: {GENERATE_HINT}).",
            id="distributor.W001",
        )
    ]
