"""The chart of accounts: which accounts exist and how each is keyed.

Accounts are created on demand by :func:`account_get`, never by typing a code into a view, so every
account's code is derived the same way: ``<kind>:<currency>[:customer=<id>][:vendor=<id>][:ref=<reference>]``.
"""

import re

from django.db import IntegrityError
from django.utils.translation import gettext as _

from accounts.models import Customer
from billing.ledger.exceptions import LedgerError
from billing.ledger.models import AccountKind, AccountType, LedgerAccount
from catalog.models import Vendor

K = AccountKind

ACCOUNT_TYPES: dict[str, str] = {
    K.CASH_BANK: AccountType.ASSET,
    K.STRIPE_CLEARING: AccountType.ASSET,
    K.WALLET_PAID: AccountType.LIABILITY,
    K.WALLET_GRANTED: AccountType.LIABILITY,
    K.WALLET_PACK: AccountType.LIABILITY,
    K.RECEIVABLE: AccountType.ASSET,
    K.UNBILLED_RECEIVABLE: AccountType.ASSET,
    K.REVENUE_USAGE: AccountType.INCOME,
    K.REVENUE_SUBSCRIPTIONS: AccountType.INCOME,
    K.REVENUE_SERVICES: AccountType.INCOME,
    K.COST_OF_TOKENS: AccountType.EXPENSE,
    K.UPSTREAM_PREPAID: AccountType.ASSET,
    K.PAYABLE: AccountType.LIABILITY,
    K.TAX_PAYABLE: AccountType.LIABILITY,
    K.ROUNDING: AccountType.EXPENSE,
    K.FX_GAIN_LOSS: AccountType.INCOME,
    K.FX_UNREALISED: AccountType.INCOME,
    K.FX_REVALUATION_RECEIVABLE: AccountType.ASSET,
    K.FX_REVALUATION_DEPOSITS: AccountType.LIABILITY,
    K.FX_REVALUATION_PAYABLE: AccountType.LIABILITY,
    K.PROMOTIONAL_CREDIT: AccountType.EXPENSE,
    K.BREAKAGE: AccountType.INCOME,
    K.BAD_DEBT_EXPENSE: AccountType.EXPENSE,
    # A contra-asset: typed asset, but credit-normal (see LedgerAccount.is_credit_normal).
    K.ALLOWANCE_DOUBTFUL: AccountType.ASSET,
    K.MANUAL_ADJUSTMENT: AccountType.EXPENSE,
    K.PAYMENT_FEES: AccountType.EXPENSE,
}

# Kinds that exist once per customer and must be given one.
CUSTOMER_KINDS = frozenset(
    {K.WALLET_PAID, K.WALLET_GRANTED, K.WALLET_PACK, K.RECEIVABLE, K.UNBILLED_RECEIVABLE}
)
# Kinds that exist once per vendor (until vendor contracts exist; then ``reference`` names the contract).
VENDOR_KINDS = frozenset({K.UPSTREAM_PREPAID, K.PAYABLE})
# Kinds that may optionally be split by vendor for margin reports.
VENDOR_OPTIONAL_KINDS = frozenset({K.COST_OF_TOKENS})
WALLET_KINDS = frozenset({K.WALLET_PAID, K.WALLET_GRANTED, K.WALLET_PACK})

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_REFERENCE = re.compile(r"^[A-Za-z0-9_.\-]*$")


def account_code(
    *, kind: str, currency: str, customer: Customer | None = None, vendor: Vendor | None = None, reference=""
) -> str:
    """Return the code an account with these keys has (whether or not it exists yet)."""
    code = f"{kind}:{currency}"
    if customer is not None:
        code += f":customer={customer.pk}"
    if vendor is not None:
        code += f":vendor={vendor.pk}"
    if reference:
        code += f":ref={reference}"
    return code


def account_get(
    *,
    kind: str,
    currency: str,
    customer: Customer | None = None,
    vendor: Vendor | None = None,
    reference: str = "",
) -> LedgerAccount:
    """Return the account of ``kind`` in ``currency`` for ``customer``/``vendor``, creating it if missing.

    Raises ``LedgerError`` when the keys do not fit the kind (a wallet needs a customer, a payable a
    vendor, cash needs neither).
    """
    if kind not in ACCOUNT_TYPES:
        raise LedgerError(_("Unknown account kind %(kind)s.") % {"kind": repr(kind)})
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        message = _("Currency must be an ISO 4217 code such as CNY, not %(currency)s.")
        raise LedgerError(message % {"currency": repr(currency)})
    if (kind in CUSTOMER_KINDS) != (customer is not None):
        if kind in CUSTOMER_KINDS:
            raise LedgerError(_("Account kind %(kind)s needs customer.") % {"kind": kind})
        raise LedgerError(_("Account kind %(kind)s takes no customer.") % {"kind": kind})
    if vendor is not None and kind not in VENDOR_KINDS | VENDOR_OPTIONAL_KINDS:
        raise LedgerError(_("Account kind %(kind)s takes no vendor.") % {"kind": kind})
    if kind in VENDOR_KINDS and vendor is None and not reference:
        message = _("Account kind %(kind)s needs a vendor (or a contract reference).")
        raise LedgerError(message % {"kind": kind})
    if not _REFERENCE.match(reference) or len(reference) > 60:
        raise LedgerError(_("Invalid account reference %(reference)s.") % {"reference": repr(reference)})
    code = account_code(kind=kind, currency=currency, customer=customer, vendor=vendor, reference=reference)
    try:
        account, _created = LedgerAccount.objects.get_or_create(
            code=code,
            defaults={
                "kind": kind,
                "type": ACCOUNT_TYPES[kind],
                "currency": currency,
                "customer": customer,
                "vendor": vendor,
                "reference": reference,
            },
        )
    except IntegrityError:  # pragma: no cover - lost a creation race that get_or_create did not absorb
        account = LedgerAccount.objects.get(code=code)
    return account


def wallet_account_get(*, customer: Customer, currency: str, bucket: str) -> LedgerAccount:
    """Return the deposit account holding ``customer``'s ``bucket`` ("paid", "granted", "pack") credit."""
    kinds = {"paid": K.WALLET_PAID, "granted": K.WALLET_GRANTED, "pack": K.WALLET_PACK}
    if bucket not in kinds:
        raise LedgerError(f"Unknown wallet bucket {bucket!r}; use paid, granted or pack.")
    return account_get(kind=kinds[bucket], currency=currency, customer=customer)
