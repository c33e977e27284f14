"""Which ledger accounts FX revaluation touches, and the base-currency accounts it posts against."""

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


def adjustment_account(kind: str) -> LedgerAccount:
    return account_get(kind=ADJUSTMENT_KIND[kind], currency=settings.BASE_CURRENCY)


def unrealised_account() -> LedgerAccount:
    return account_get(kind=K.FX_UNREALISED, currency=settings.BASE_CURRENCY)


def realised_account() -> LedgerAccount:
    return account_get(kind=K.FX_GAIN_LOSS, currency=settings.BASE_CURRENCY)
