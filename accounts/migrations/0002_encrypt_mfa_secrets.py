"""TOTP secrets and recovery-code seeds are stored encrypted (accounts.adapters.MFAAdapter).

allauth keeps them in ``Authenticator.data`` (``secret``; ``seed`` and any ``migrated_codes``) through its
adapter's encrypt()/decrypt() hooks. This encrypts those stored in the clear; values already encrypted are
left alone, so running it again changes nothing. Reversing decrypts them.
"""

from django.db import migrations

from common.encryption import decrypt, encrypt, is_encrypted


def _convert(apps, change) -> None:
    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.all().iterator():
        data = dict(authenticator.data)
        for key in ("secret", "seed"):
            if isinstance(data.get(key), str):
                data[key] = change(data[key])
        if isinstance(data.get("migrated_codes"), list):
            data["migrated_codes"] = [change(code) for code in data["migrated_codes"]]
        if data != authenticator.data:
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)


def encrypt_secrets(apps, schema_editor):
    _convert(apps, lambda stored: stored if is_encrypted(stored) else encrypt(stored))


def decrypt_secrets(apps, schema_editor):
    _convert(apps, decrypt)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_secrets, decrypt_secrets)]
