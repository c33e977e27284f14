"""The chart of accounts: which accounts exist and how each is keyed.

Accounts are created on demand by :func:`account_get`, never by typing a code into a view, so every
account's code is derived the same way:
``<kind>:<currency>[:customer=<id>][:vendor=<id>][:ref=<reference>][:book=<id>]``.

Books (``accounts.chain``): a customer's own accounts (wallets, receivables) are kept in its seller's book,
always; every other account is in the book the caller names (``book``: the resale sub-distributor, None for
the operator). Vendor accounts are the operator's only: only the operator buys from vendors.
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
    K.DUE_TO_SELLER: AccountType.LIABILITY,
    K.COMMISSION_EXPENSE: AccountType.EXPENSE,
    K.COMMISSION_PAYABLE: AccountType.LIABILITY,
    K.UPSTREAM_ACCRUED: AccountType.LIABILITY,
    K.UPSTREAM_EXPIRED: AccountType.EXPENSE,
    K.COMMIT_SHORTFALL: AccountType.EXPENSE,
    K.BAD_DEBT_RECOVERED: AccountType.INCOME,
    K.OPENING_BALANCE_EQUITY: AccountType.EQUITY,
}

# Kinds that exist once per customer and must be given one.
CUSTOMER_KINDS = frozenset(
    {
        K.WALLET_PAID,
        K.WALLET_GRANTED,
        K.WALLET_PACK,
        K.RECEIVABLE,
        K.UNBILLED_RECEIVABLE,
        K.COMMISSION_PAYABLE,
    }
)
# Kinds that exist once per vendor, and per channel where ``reference`` names one (``channel_reference``):
# usage on a channel nobody mapped yet is owed on the vendor's account without a reference.
VENDOR_KINDS = frozenset({K.UPSTREAM_PREPAID, K.PAYABLE, K.UPSTREAM_ACCRUED})
# Kinds that may optionally be split by vendor (and channel) for margin reports.
VENDOR_OPTIONAL_KINDS = frozenset({K.COST_OF_TOKENS, K.UPSTREAM_EXPIRED, K.COMMIT_SHORTFALL})
WALLET_KINDS = frozenset({K.WALLET_PAID, K.WALLET_GRANTED, K.WALLET_PACK})

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_REFERENCE = re.compile(r"^[A-Za-z0-9_.\-]*$")


def channel_reference(channel_id: int) -> str:
    """The ``reference`` of a channel's upstream accounts (with ``vendor`` its contract's vendor)."""
    return f"channel-{channel_id}"


def book_id_of(*, kind: str, customer: Customer | None, book: Customer | None) -> int | None:
    """The book an account of ``kind`` is kept in: its customer's seller's, else ``book``'s."""
    if kind in CUSTOMER_KINDS and customer is not None:
        return customer.seller_id
    return book.pk if book is not None else None


def account_code(
    *,
    kind: str,
    currency: str,
    customer: Customer | None = None,
    vendor: Vendor | None = None,
    reference="",
    book: Customer | None = None,
) -> str:
    """Return the code an account with these keys has (whether or not it exists yet)."""
    code = f"{kind}:{currency}"
    if customer is not None:
        code += f":customer={customer.pk}"
    if vendor is not None:
        code += f":vendor={vendor.pk}"
    if reference:
        code += f":ref={reference}"
    book_id = book_id_of(kind=kind, customer=customer, book=book)
    if book_id is not None:
        code += f":book={book_id}"
    return code


def account_get(
    *,
    kind: str,
    currency: str,
    customer: Customer | None = None,
    vendor: Vendor | None = None,
    reference: str = "",
    book: Customer | None = None,
) -> LedgerAccount:
    """Return the account of ``kind`` in ``currency`` for ``customer``/``vendor``, creating it if missing,
    in ``book`` (None: the operator's; a customer's own accounts are always in its seller's book).

    Raises ``LedgerError`` when the keys do not fit the kind (a wallet needs a customer, a payable a
    vendor, cash needs neither) or the book is not a seller's.
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
    if book is not None and not book.is_reseller:
        raise LedgerError(_("%(book)s keeps no books: only a resale sub-distributor does.") % {"book": book})
    if book is not None and kind in CUSTOMER_KINDS and customer is not None and book.pk != customer.seller_id:
        message = _("%(customer)s's accounts are kept in its seller's book, not in %(book)s's.")
        raise LedgerError(message % {"customer": customer, "book": book})
    if book is not None and kind in VENDOR_KINDS:
        raise LedgerError(_("Vendor accounts are kept in the operator's book only."))
    code = account_code(
        kind=kind, currency=currency, customer=customer, vendor=vendor, reference=reference, book=book
    )
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
                "book_id": book_id_of(kind=kind, customer=customer, book=book),
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
