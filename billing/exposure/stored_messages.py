"""Stored messages of exposure postings' memos (``common.stored_text``): the English is the memo as
written."""

from django.utils.translation import gettext_noop

from common.stored_text import messages_register

messages_register(
    {
        "exposure.memo.ecl_raised": gettext_noop(
            "Expected credit loss as of %(day)s: allowance raised to %(total)s %(currency)s"
        ),
        "exposure.memo.ecl_released": gettext_noop(
            "Expected credit loss as of %(day)s: allowance released to %(total)s %(currency)s"
        ),
    }
)
