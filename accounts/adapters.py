from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator

from accounts.two_factor import requires_second_factor
from common.encryption import decrypt, encrypt


class AccountAdapter(DefaultAccountAdapter):
    """Accounts are created by the operator's staff, never by public sign-up."""

    def is_open_for_signup(self, request) -> bool:
        return False


class MFAAdapter(DefaultMFAAdapter):
    """allauth stores TOTP secrets and recovery-code seeds through these hooks: encrypted at rest."""

    def encrypt(self, text: str) -> str:
        return encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt(encrypted_text)

    def can_delete_authenticator(self, authenticator) -> bool:
        """Staff keep their TOTP device: every staff page needs it (accounts/two_factor.py).

        Without this a staff member could remove it after signing in, and the next sign-in would only
        lead back to enrolling one; recovery codes alone are no device. An admin resets a lost one.
        """
        if authenticator.type == Authenticator.Type.TOTP and requires_second_factor(authenticator.user):
            return False
        return super().can_delete_authenticator(authenticator)
