"""Which ledger accounts FX revaluation touches, and the base-currency accounts it posts against.

Each book revalues on its own (``accounts.chain``): the base-currency accounts are in the book of the
account revalued (``book``: a resale sub-distributor, None for the operator's)."""

from django.conf import settings

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, LedgerAccount

K = AccountKind

# Each revalued kind → the base-currency account that carries its revaluation and realised FX.
ADJUSTMENT_KIND = {
    K.RECEIVABLE: K.FX_REVALUATION_RECEIVABLE,
    K.WALLET_PAID: K.FX_REVALUATION_DEPOSITS,
    K.WALLET_GRANTED: K.FX_REVALUATION_DEPOSITS,
    K.WALLET_PACK: K.FX_REVALUATION_DEPOSITS,
    K.PAYABLE: K.FX_REVALUATION_PAYABLE,
}


def adjustment_account(kind: str, book=None) -> LedgerAccount:
    return account_get(kind=ADJUSTMENT_KIND[kind], currency=settings.BASE_CURRENCY, book=book)


def unrealised_account(book=None) -> LedgerAccount:
    return account_get(kind=K.FX_UNREALISED, currency=settings.BASE_CURRENCY, book=book)


def realised_account(book=None) -> LedgerAccount:
    return account_get(kind=K.FX_GAIN_LOSS, currency=settings.BASE_CURRENCY, book=book)
