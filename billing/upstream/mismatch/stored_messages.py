"""Stored text of mismatch flags (common.stored_text): a flag's detail (``reported``, ``price_table``,
``shift``), the English as the flag stores it."""

from django.utils.translation import gettext_noop

from common.stored_text import messages_register

messages_register(
    {
        "upstream.mismatch.reported": gettext_noop(
            "%(mismatched)s of %(reporting)s responses (%(share)s) reported another model: %(top)s"
        ),
        "upstream.mismatch.price_table": gettext_noop(
            "%(rows)s vendor row(s) miss %(model)s's price by up to %(gap)s and match %(matches)s"
        ),
        "upstream.mismatch.shift": gettext_noop(
            "%(name)s tokens/request %(mean)s vs %(mu)s ± %(sigma)s (z %(z)s)"
        ),
        "upstream.mismatch.joined": gettext_noop("%(first)s; %(rest)s"),
    }
)
