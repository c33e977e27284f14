"""Stored messages of opening-balance postings' memos (``common.stored_text``): the English is the memo as
written."""

from django.utils.translation import gettext_noop

from common.stored_text import messages_register

messages_register(
    {
        "opening.memo.deposit": gettext_noop("Opening deposit %(document)s"),
        "opening.memo.deposit_description": gettext_noop("Opening deposit %(document)s: %(description)s"),
    }
)
