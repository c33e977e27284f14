"""What one opening file may bring to one account, and what an old document number may not look like.

Two checks of ``plan``, each an error on the row and field at fault:

* **Totals**: every row is below ``parse.AMOUNT_LIMIT`` (10**15); so is what the file brings, per currency,
  to one customer or channel (its receivable, wallet or upstream prepaid account) and to one book (its
  opening balance equity). A ledger balance holds 16 digits before the point, so what is stored already
  still fits beside it; should it not, applying is refused as a whole (``services``), never a 500.
* **Our own numbers**: an opening invoice keeps its old number, in the same unique column as this
  system's gapless series (``billing.invoicing.numbering``). An old number shaped like one of ours
  (INV-2026-000001, CN-…, RC-…, a sub-distributor's INV-7-2026-…) would sooner or later be the number the
  series takes next, and every invoice after it in that series would fail to issue; so it is refused,
  whether or not the series has reached it yet.
"""

import re
from collections import defaultdict
from decimal import Decimal

from django.utils.translation import gettext as _

from billing.invoicing.numbering import PREFIXES
from billing.money import money_text
from billing.opening.parse import AMOUNT_LIMIT, limit_text

# ``numbering`` writes "<prefix>-<year>-<counter:06d>" and, for a seller's book, "<prefix>-<id>-<year>-…";
# a counter past 999,999 has more digits. Case and the kind of digit are ignored: "inv-2026-000001" or
# full-width digits would read as one of ours to a person even where the database tells them apart.
_PREFIXES = "|".join(re.escape(prefix) for prefix in PREFIXES.values())
OUR_NUMBER = re.compile(rf"(?:{_PREFIXES})(?:-\d+){{1,2}}-\d{{6,}}", re.IGNORECASE)


def is_our_number(document: str) -> bool:
    """Whether ``document`` is a number one of this system's series could produce."""
    return OUR_NUMBER.fullmatch(document.strip()) is not None


def our_numbers_refuse(rows) -> None:
    """An error on each new receivable whose old number is shaped like one of this system's own numbers.

    Run after the rows are compared with what is stored: a number another invoice has already is said so
    (more precisely), and a row imported already writes nothing, so refusing it would protect nothing."""
    for planned in rows:
        document = planned.source.document
        if not document or planned.existing is not None or not is_our_number(document):
            continue
        if any(error.field == "document" for error in planned.errors):
            continue
        planned.problem(
            "document",
            _(
                "Document %(document)s is shaped like this system's own numbers (invoices INV-2026-000001, "
                "credit notes CN-…, receipts RC-…, and a sub-distributor's INV-<id>-2026-…): a later "
                "invoice, credit note or receipt could take it. Keep the old number recognisable with a "
                "prefix of your own, such as OLD-%(document)s."
            )
            % {"document": document},
        )


def totals_limit(rows) -> None:
    """An error on the row that takes what the file brings to one party, or one book, in one currency to
    the limit or past it (once per party or book and currency: the rows after it add to the same excess)."""
    by_party: dict[tuple, Decimal] = defaultdict(Decimal)
    by_book: dict[tuple, Decimal] = defaultdict(Decimal)
    flagged: set[tuple] = set()
    for planned in rows:
        source = planned.source
        party = planned.customer or planned.channel
        if party is None or source.amount is None or not source.currency or planned.errors:
            continue
        party_key = ("party", type(party).__name__, party.pk, source.currency)
        # A channel's upstream prepaid credit is the operator's; a customer's accounts are in its seller's.
        book = planned.customer.seller if planned.customer is not None else None
        book_key = ("book", book.pk if book else None, source.currency)
        by_party[party_key] += source.amount
        by_book[book_key] += source.amount
        if by_party[party_key] >= AMOUNT_LIMIT and party_key not in flagged:
            # The book's total crossed with it, or will with the same excess: one error says it.
            flagged.update((party_key, book_key))
            planned.problem(
                "amount",
                _(
                    "The amounts of %(party)s in %(currency)s add up to %(total)s by this row: what one file "
                    "brings to one customer, channel or book in one currency must stay below %(limit)s."
                )
                % {
                    "party": party.name,
                    "currency": source.currency,
                    "total": money_text(by_party[party_key], source.currency),
                    "limit": limit_text(),
                },
            )
        elif by_book[book_key] >= AMOUNT_LIMIT and book_key not in flagged:
            flagged.add(book_key)
            planned.problem(
                "amount",
                _(
                    "The opening balances in %(currency)s of %(book)s add up to %(total)s by this row: what "
                    "one file brings to one customer, channel or book in one currency must stay below "
                    "%(limit)s."
                )
                % {
                    "currency": source.currency,
                    "book": _("%(name)s's book") % {"name": book.name} if book else _("the operator's book"),
                    "total": money_text(by_book[book_key], source.currency),
                    "limit": limit_text(),
                },
            )
