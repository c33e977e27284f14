"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS, so an old key can be dropped.

Every ``EncryptedTextField`` column of every model, and allauth's TOTP secrets and recovery-code seeds.
Each row is rewritten only if it still holds what was read (compare and swap), so a secret changed
meanwhile keeps its new value; that value was encrypted with the current first key anyway.
"""

from allauth.mfa.models import Authenticator
from django.apps import apps

from common.encrypted_fields import EncryptedTextField, StoredSecret
from common.encryption import reencrypt

# Where allauth keeps secrets in Authenticator.data: single values, and lists of them.
MFA_SECRET_KEYS, MFA_SECRET_LISTS = ("secret", "seed"), ("migrated_codes",)


def encrypted_columns() -> list[tuple[type, EncryptedTextField]]:
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def _column_reencrypt(model, field: EncryptedTextField) -> int:
    rows = model._base_manager.exclude(**{field.attname: ""}).values_list("pk", field.attname)
    done = 0
    for pk, stored in rows.iterator():
        # StoredSecret: compare and write the ciphertext as it is, without the field encrypting it again.
        done += model._base_manager.filter(pk=pk, **{field.attname: StoredSecret(stored)}).update(
            **{field.attname: StoredSecret(reencrypt(stored))}
        )
    return done


def mfa_data_reencrypt(data: dict) -> dict:
    data = dict(data)
    for key in MFA_SECRET_KEYS:
        if isinstance(data.get(key), str):
            data[key] = reencrypt(data[key])
    for key in MFA_SECRET_LISTS:
        if isinstance(data.get(key), list):
            data[key] = [reencrypt(value) for value in data[key]]
    return data


def _authenticators_reencrypt() -> int:
    done = 0
    for pk, data in Authenticator.objects.values_list("pk", "data").iterator():
        done += Authenticator.objects.filter(pk=pk, data=data).update(data=mfa_data_reencrypt(data))
    return done


def secrets_reencrypt() -> dict[str, int]:
    """Re-encrypt every stored secret; return how many were rewritten, per ``app.Model.field``."""
    counts = {
        f"{model._meta.label}.{field.name}": _column_reencrypt(model, field)
        for model, field in encrypted_columns()
    }
    counts["mfa.Authenticator.data"] = _authenticators_reencrypt()
    return counts
