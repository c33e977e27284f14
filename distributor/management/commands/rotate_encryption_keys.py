"""``manage.py rotate_encryption_keys``: every stored secret re-encrypted with the first key.

Rotation: put a new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), restart, run this,
then remove the old keys.
"""

from django.core.management.base import BaseCommand, CommandError

from common.encryption import DecryptionError
from common.encryption_rotation import secrets_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt stored secrets (webhook secrets, TOTP keys) with the first FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        try:
            counts = secrets_reencrypt()
        except DecryptionError as exc:
            raise CommandError(str(exc)) from None
        for column, count in counts.items():
            self.stdout.write(f"{column}: {count} re-encrypted")
