"""Webhook signing secrets (wallets, gateway sources) are stored encrypted (common/encryption.py).

The column becomes text (a token is longer than the 128 characters a secret may have) and every secret
stored in the clear is encrypted. Plain SQL reads and writes the column, so the field's own encryption does
not apply twice; values already encrypted are left alone, so running it again changes nothing. Reversing
decrypts them.
"""

from django.db import migrations

import common.encrypted_fields
from common.encryption import decrypt, encrypt, is_encrypted

TABLES = ("billing_wallet", "usage_gateway_source")


def _convert(schema_editor, change) -> None:
    quote = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT id, webhook_secret FROM {quote(table)} WHERE webhook_secret <> ''")
            for pk, stored in cursor.fetchall():
                changed = change(stored)
                if changed != stored:
                    cursor.execute(
                        f"UPDATE {quote(table)} SET webhook_secret = %s WHERE id = %s", [changed, pk]
                    )


def encrypt_secrets(apps, schema_editor):
    _convert(schema_editor, lambda stored: stored if is_encrypted(stored) else encrypt(stored))


def decrypt_secrets(apps, schema_editor):
    _convert(schema_editor, decrypt)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0018_stripe_event_states"),
    ]

    operations = [
        migrations.AlterField(
            model_name="gatewaysource",
            name="webhook_secret",
            field=common.encrypted_fields.EncryptedTextField(blank=True, verbose_name="webhook secret"),
        ),
        migrations.AlterField(
            model_name="wallet",
            name="webhook_secret",
            field=common.encrypted_fields.EncryptedTextField(
                blank=True,
                help_text="HMAC-SHA256 key for this customer's webhooks; blank uses the global secret.",
                verbose_name="webhook secret",
            ),
        ),
        migrations.RunPython(encrypt_secrets, decrypt_secrets),
    ]
