"""Reads for the manual journal pages."""

from django.db.models import QuerySet

from billing.journals.models import ManualJournal
from billing.ledger.accounts import WALLET_KINDS
from billing.ledger.models import LedgerAccount


def postable_accounts() -> QuerySet[LedgerAccount]:
    """Accounts a manual entry may post to: every account but the wallets' (adjusted on their own page)."""
    return LedgerAccount.objects.exclude(kind__in=WALLET_KINDS).select_related("customer", "vendor")


def manual_journals() -> QuerySet[ManualJournal]:
    return ManualJournal.objects.select_related("proposed_by", "decided_by", "journal_transaction")
