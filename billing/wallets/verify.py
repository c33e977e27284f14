"""Check the wallets' lots against the ledger, and the books whole: ``books_problems`` is what
``manage.py ledger_verify`` runs (the journal first, then the lots that must agree with it)."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import QuerySet, Sum

from billing.ledger.models import AccountKind, LedgerAccount
from billing.ledger.verify import decimal_sums, ledger_problems, sums_in_python
from billing.wallets.models import WalletLot, WalletLotUse


def wallet_problems(accounts: QuerySet[LedgerAccount] | None = None) -> list[str]:
    """Return a line per lot whose ``remaining`` disagrees with its uses, and per granted or pack account
    whose balance is not what its lots hold; an empty list means the lots agree with the journal.

    ``accounts``: only the lots of these accounts (``ledger_verify --book`` passes one book's); all if None.
    """
    problems: list[str] = []
    own = WalletLot.objects.all()
    if accounts is None:
        accounts = LedgerAccount.objects.all()
    else:
        own = own.filter(account__in=accounts.values("pk"))
    lots = own.annotate(used=Sum("uses__amount")).select_related("account")
    used_of = None
    if sums_in_python():
        lots = own.select_related("account")
        used_of = decimal_sums(
            WalletLotUse.objects.filter(lot__in=own.values("pk")).values_list("lot_id", "amount"),
            lambda r: r[0],
        )
    held: dict[int, Decimal] = defaultdict(Decimal)
    for lot in lots:
        used = used_of.get(lot.pk) if used_of is not None else lot.used
        expected = lot.amount - (used or Decimal("0"))
        if expected != lot.remaining:
            problems.append(
                f"wallet lot #{lot.pk} ({lot.account.code}): remaining {lot.remaining}, uses say {expected}"
            )
        held[lot.account_id] += lot.remaining
    lot_kinds = (AccountKind.WALLET_GRANTED, AccountKind.WALLET_PACK)
    for account in accounts.filter(kind__in=lot_kinds):
        in_lots = held.get(account.pk, Decimal("0"))
        if -account.balance != in_lots:
            problems.append(
                f"account {account.code}: holds {-account.balance} but its open lots hold {in_lots}"
            )
    return problems


def books_problems() -> list[str]:
    """Every disagreement in the books: the journal's (``ledger_problems``), then the wallets' lots."""
    return ledger_problems() + wallet_problems()
