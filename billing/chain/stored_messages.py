"""Stored messages of chain postings' memos (``common.stored_text``): the English is the memo as written."""

from django.utils.translation import gettext_noop

from common.stored_text import messages_register

messages_register(
    {
        "chain.memo.commission_paid": gettext_noop("Commission paid to %(agent)s"),
        "chain.memo.commission_paid_ref": gettext_noop("Commission paid to %(agent)s, ref %(reference)s"),
        "chain.memo.migration": gettext_noop(
            "%(customer)s's prepaid credit moves to %(sub)s's book (chain migration)"
        ),
    }
)
