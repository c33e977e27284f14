"""A text column stored encrypted (``common.encryption``) and decrypted only when the code reads it.

Decrypting on access rather than on load keeps a wrong or missing key from breaking every page that
loads a wallet or a gateway source: only what uses the secret (signing a webhook) fails, with the
explanation. Saving an object whose secret was never read writes the stored value back unchanged.

Lookups on the plain text do not work (each encryption differs); only the empty value, which is kept
as is, can be filtered on.
"""

from django.db import models
from django.db.models.query_utils import DeferredAttribute

from common.encryption import decrypt, encrypt, is_encrypted


class StoredSecret(str):
    """A value as it came from the database: encrypted, not yet read."""


class _DecryptOnRead(DeferredAttribute):
    def __get__(self, instance, cls=None):
        value = super().__get__(instance, cls)
        if isinstance(value, StoredSecret):
            value = instance.__dict__[self.field.attname] = decrypt(value)
        return value

    # A data descriptor, so reads come here even once the value sits in the instance's __dict__.
    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    descriptor_class = _DecryptOnRead

    def from_db_value(self, value, expression, connection):
        return StoredSecret(value) if value and is_encrypted(value) else value

    def pre_save(self, model_instance, add):
        # The value as held, without the descriptor: an unread secret is saved without being decrypted.
        return model_instance.__dict__[self.attname]

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value or isinstance(value, StoredSecret):
            return value
        return encrypt(value)
