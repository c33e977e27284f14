"""The staff dashboard's navigation: one place where each section registers its entries.

An entry shows only to staff whose role is listed (auditors see every entry, read-only).
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from accounts.models import StaffRole

ALL = tuple(StaffRole.values)
_FINANCE = (StaffRole.FINANCE, StaffRole.ADMIN)


@dataclass(frozen=True)
class NavEntry:
    section: str
    label: str
    url_name: str
    icon: str
    roles: tuple[str, ...] = ALL


STAFF_NAVIGATION: list[NavEntry] = [
    NavEntry(_("Overview"), _("Dashboard"), "dashboard", "speedometer2"),
    NavEntry(_("Customers"), _("Customers"), "staff-customer-list", "people"),
    NavEntry(_("Finance"), _("Journal"), "staff-journal", "journal-text", _FINANCE),
    NavEntry(_("Finance"), _("Chart of accounts"), "staff-ledger-accounts", "list-columns", _FINANCE),
    NavEntry(_("Finance"), _("Wallets"), "staff-wallet-list", "wallet2"),
    NavEntry(_("Finance"), _("Bank transfers"), "staff-bank-transfer-list", "bank", _FINANCE),
    NavEntry(_("Finance"), _("Card top-ups"), "staff-card-topup-list", "credit-card", _FINANCE),
    NavEntry(_("Finance"), _("Redemption codes"), "staff-redemption-batch-list", "gift", _FINANCE),
]


def entries_for(user) -> list[NavEntry]:
    return [e for e in STAFF_NAVIGATION if user.staff_role in e.roles or user.is_read_only]
