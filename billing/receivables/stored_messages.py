"""Stored messages of receivable postings' memos (``common.stored_text``): the English is the memo as
written."""

from django.utils.translation import gettext_noop

from common.stored_text import messages_register

messages_register(
    {
        "receivables.memo.payment": gettext_noop("Payment from %(customer)s"),
        "receivables.memo.payment_ref": gettext_noop("Payment from %(customer)s, ref %(reference)s"),
        "receivables.memo.write_off": gettext_noop("Write-off #%(write_off)s %(customer)s: %(invoices)s"),
        "receivables.memo.credit_note": gettext_noop(
            "Credit note %(note)s for invoice %(invoice)s: %(reason)s"
        ),
        "receivables.memo.bad_debt_recovered": gettext_noop(
            "Bad debt recovered, write-off #%(write_off)s, invoice %(invoice)s"
        ),
        "receivables.memo.recovery_undone": gettext_noop(
            "Bad debt recovery #%(recovery)s undone, invoice %(invoice)s"
        ),
    }
)
