"""Reads for the manual journal pages."""

from django.db.models import QuerySet

from billing.journals.lines import KEPT_KINDS
from billing.journals.models import ManualJournal
from billing.ledger.models import LedgerAccount


def postable_accounts() -> QuerySet[LedgerAccount]:
    """Accounts a manual entry may post to: every account but those documents and services keep
    (``billing.journals.lines.KEPT_KINDS``: receivables, unbilled, wallets, FX revaluation)."""
    return LedgerAccount.objects.exclude(kind__in=KEPT_KINDS).select_related("customer", "vendor")


def manual_journals() -> QuerySet[ManualJournal]:
    return ManualJournal.objects.select_related("proposed_by", "decided_by", "journal_transaction")
