"""Secrets at rest: TOTP keys and webhook signing secrets are stored encrypted, still work, and rotate."""

import importlib
import json

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from accounts.models import StaffRole
from billing.usage.models import GatewaySource
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.models import Wallet
from billing.wallets.notifications import wallet_webhook_send
from common.encryption import (
    DecryptionError,
    decrypt,
    derived_key_check,
    encrypt,
    field_encryption_keys,
)
from common.signed_webhooks import SIGNATURE_HEADER, webhook_signature_verify
from demo.accounts import DEMO_TOTP_SECRETS
from tests.billing.usage.factories import source_make
from tests.browser.conftest import current_totp
from tests.common.test_outgoing_webhooks import receiver  # noqa: F401  (fixture)
from tests.factories import CustomerFactory, StaffFactory

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _column(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT webhook_secret FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def _set_column(table: str, pk: int, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET webhook_secret = %s WHERE id = %s", [value, pk])


@pytest.fixture
def secrets_stored(settings):
    """A wallet, a gateway source and a staff member's TOTP, each with a known secret, under key OLD."""
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    wallet = wallet_get_or_create(customer=CustomerFactory(), currency="CNY")
    wallet.webhook_secret = "wallet-signing-secret"
    wallet.save()
    source, _token = source_make(name="edge", webhook_secret="gateway-signing-secret")
    staff = StaffFactory(email="fin@op.example.com", staff_role=StaffRole.FINANCE)
    TOTP.activate(staff, SECRET)
    RecoveryCodes.activate(staff)
    return wallet, source, staff


def test_stored_values_are_not_the_plain_text(secrets_stored):
    wallet, source, staff = secrets_stored
    stored = [_column("billing_wallet", wallet.pk), _column("usage_gateway_source", source.pk)]
    totp = Authenticator.objects.get(user=staff, type=Authenticator.Type.TOTP).data
    recovery = Authenticator.objects.get(user=staff, type=Authenticator.Type.RECOVERY_CODES).data
    stored += [totp["secret"], recovery["seed"]]
    assert all(value.startswith("fernet:") for value in stored)
    dump = json.dumps(stored)
    assert "wallet-signing-secret" not in dump and "gateway-signing-secret" not in dump and SECRET not in dump
    # and the code reads the plain text
    assert Wallet.objects.get(pk=wallet.pk).webhook_secret == "wallet-signing-secret"
    assert GatewaySource.objects.get(pk=source.pk).webhook_secret == "gateway-signing-secret"


def test_totp_sign_in_still_works(client, secrets_stored):
    _wallet, _source, staff = secrets_stored
    response = client.post(reverse("account_login"), {"login": staff.email, "password": "pass-word-123"})
    assert response["Location"] == reverse("mfa_authenticate")
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session
    response = client.post(reverse("mfa_authenticate"), {"code": current_totp(SECRET)}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboard")


def test_the_demo_totp_secrets_keep_working():
    staff = StaffFactory(staff_role=StaffRole.ADMIN)
    secret = next(iter(DEMO_TOTP_SECRETS.values()))
    TOTP.activate(staff, secret)  # what demo/accounts.py does
    authenticator = Authenticator.objects.get(user=staff, type=Authenticator.Type.TOTP)
    assert authenticator.data["secret"] != secret
    assert TOTP(authenticator).validate_code(current_totp(secret))


def test_webhook_signatures_still_verify(secrets_stored, receiver, settings):  # noqa: F811
    wallet, _source, _staff = secrets_stored
    port, received, _answer = receiver
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    Wallet.objects.filter(pk=wallet.pk).update(webhook_url=f"http://127.0.0.1:{port}/hook")
    wallet_webhook_send(wallet=Wallet.objects.get(pk=wallet.pk), payload={"id": "evt_1"})
    header = received[0]["headers"][SIGNATURE_HEADER]
    assert webhook_signature_verify(body=received[0]["body"], header=header, secret="wallet-signing-secret")


def test_rotation_re_encrypts_everything_with_the_first_key(secrets_stored, settings):
    wallet, source, staff = secrets_stored
    before = _column("billing_wallet", wallet.pk)
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    call_command("rotate_encryption_keys")
    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # the old key dropped: everything still opens
    assert _column("billing_wallet", wallet.pk) != before
    assert decrypt(_column("billing_wallet", wallet.pk)) == "wallet-signing-secret"
    assert decrypt(_column("usage_gateway_source", source.pk)) == "gateway-signing-secret"
    totp = Authenticator.objects.get(user=staff, type=Authenticator.Type.TOTP)
    assert TOTP(totp).validate_code(current_totp(SECRET))
    recovery = RecoveryCodes(Authenticator.objects.get(user=staff, type=Authenticator.Type.RECOVERY_CODES))
    assert len(recovery.generate_codes()) > 0


def test_a_wrong_key_fails_clearly_and_only_where_the_secret_is_used(secrets_stored, settings):
    wallet, _source, staff = secrets_stored
    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # OLD forgotten
    loaded = Wallet.objects.get(pk=wallet.pk)  # loading still works: the secret is decrypted when read
    loaded.save()  # and an unread secret is written back as it was
    with pytest.raises(DecryptionError, match="FIELD_ENCRYPTION_KEYS"):
        _ = loaded.webhook_secret
    totp = TOTP(Authenticator.objects.get(user=staff, type=Authenticator.Type.TOTP))
    with pytest.raises(DecryptionError, match="rotate_encryption_keys"):
        totp.validate_code(current_totp(SECRET))
    with pytest.raises(CommandError, match="FIELD_ENCRYPTION_KEYS"):
        call_command("rotate_encryption_keys")
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    assert Wallet.objects.get(pk=wallet.pk).webhook_secret == "wallet-signing-secret"


def test_keys_come_from_the_environment_checked_and_a_derived_one_is_a_deploy_warning(monkeypatch):
    monkeypatch.delenv("FIELD_ENCRYPTION_KEYS", raising=False)
    derived = field_encryption_keys(secret_key="x" * 60)
    assert derived == field_encryption_keys(secret_key="x" * 60)
    assert derived != field_encryption_keys(secret_key="y" * 60)
    assert [w.id for w in derived_key_check(None)] == ["distributor.W001"]
    monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", f"{NEW}, not-a-key")
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS: key 2 is not a Fernet key"):
        field_encryption_keys(secret_key="x" * 60)
    monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", f"{NEW},{OLD}")
    assert field_encryption_keys(secret_key="x" * 60) == [NEW, OLD]
    assert derived_key_check(None) == []


def test_the_migrations_encrypt_plain_text_once_and_reverse(secrets_stored):
    wallet, source, staff = secrets_stored
    billing = importlib.import_module("billing.migrations.0019_encrypt_webhook_secrets")
    accounts = importlib.import_module("accounts.migrations.0002_encrypt_mfa_secrets")
    schema_editor = connection.schema_editor()
    # As the rows were before encryption existed.
    billing.decrypt_secrets(apps, schema_editor)
    accounts.decrypt_secrets(apps, schema_editor)
    totp = Authenticator.objects.get(user=staff, type=Authenticator.Type.TOTP)
    assert _column("billing_wallet", wallet.pk) == "wallet-signing-secret" and totp.data["secret"] == SECRET

    billing.encrypt_secrets(apps, schema_editor)
    accounts.encrypt_secrets(apps, schema_editor)
    once = _column("usage_gateway_source", source.pk), Authenticator.objects.get(pk=totp.pk).data
    billing.encrypt_secrets(apps, schema_editor)  # again: nothing changes
    accounts.encrypt_secrets(apps, schema_editor)
    assert (_column("usage_gateway_source", source.pk), Authenticator.objects.get(pk=totp.pk).data) == once
    assert once[0].startswith("fernet:") and decrypt(once[0]) == "gateway-signing-secret"
    assert TOTP(Authenticator.objects.get(pk=totp.pk)).validate_code(current_totp(SECRET))


def test_a_plain_value_left_from_before_is_read_and_encrypted_on_save(settings):
    wallet = wallet_get_or_create(customer=CustomerFactory(), currency="CNY")
    _set_column("billing_wallet", wallet.pk, "legacy-secret")
    loaded = Wallet.objects.get(pk=wallet.pk)
    assert loaded.webhook_secret == "legacy-secret"
    loaded.save()
    assert decrypt(_column("billing_wallet", wallet.pk)) == "legacy-secret"
    assert decrypt(encrypt("x")) == "x"
