"""Find anything from the staff shell: customers, invoices, payments and request ids behind one box.

Each kind is a small capped query over the same visibility selectors its own list page uses, so the
search never shows a role what the role's pages would refuse (bank transfers and card top-ups are
finance's, as in the navigation). A request id is looked up through its deduplication key first: the
key's primary key is (source, request id), probed once per gateway source, and it carries the
``occurred_at`` that prunes the partitioned events table down to the one partition holding the event.
"""

import contextlib
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import StaffRole, User
from accounts.selectors import customers_visible_to
from billing.payments.selectors import bank_transfers_visible_to, card_topups_visible_to
from billing.receivables.selectors import invoices_visible_to, payments_visible_to
from billing.usage.models import GatewaySource, UsageEvent, UsageRequestKey
from common.currencies import amount_display

MIN_LENGTH = 2
# Longer than any number, reference or request id we store (request ids are 200 characters at most).
MAX_LENGTH = 200
PER_KIND = 10
SUGGEST_PER_KIND = 4
# Top-ups are finance's pages (distributor.navigation); auditors read everything.
_FINANCE = (StaffRole.FINANCE, StaffRole.ADMIN)

KIND_LABELS = {
    "customer": _("Customers"),
    "invoice": _("Invoices"),
    "payment": _("Payments"),
    "bank_transfer": _("Bank transfers"),
    "card_topup": _("Card top-ups"),
    "request": _("Requests"),
}


@dataclass(frozen=True)
class Hit:
    kind: str
    title: str
    detail: str
    url: str
    # The query is this record's whole identifier (an invoice number, a request id), not just part of it.
    exact: bool = False


@dataclass
class Group:
    kind: str
    hits: list[Hit]
    # More matched than were listed: the user should narrow the query.
    more: bool = False

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self.kind])


@dataclass
class SearchResults:
    query: str
    groups: list[Group] = field(default_factory=list)
    # Why nothing was searched ("too short"), for the page to say so.
    problem: str = ""

    @property
    def count(self) -> int:
        return sum(len(g.hits) for g in self.groups)

    def exact_target(self) -> Hit | None:
        """The one record the query names exactly (an invoice number or a request id), if only one does."""
        exact = [h for g in self.groups for h in g.hits if h.exact and h.kind in ("invoice", "request")]
        return exact[0] if len(exact) == 1 else None


def query_clean(raw: str | None) -> str:
    """The query as searched: trimmed, control characters dropped, at most ``MAX_LENGTH`` characters."""
    text = "".join(ch for ch in (raw or "") if ch.isprintable())
    return text.strip()[:MAX_LENGTH]


def search(user: User, raw_query: str | None, *, per_kind: int = PER_KIND) -> SearchResults:
    """Search every kind ``user`` may see for ``raw_query``; each kind lists at most ``per_kind`` hits."""
    query = query_clean(raw_query)
    results = SearchResults(query=query)
    if not query:
        return results
    if len(query) < MIN_LENGTH:
        results.problem = str(_("Type at least %(count)d characters.") % {"count": MIN_LENGTH})
        return results
    finder_kinds = [
        ("customer", _customers),
        ("invoice", _invoices),
        ("payment", _payments),
        ("request", _requests),
    ]
    if user.staff_role in _FINANCE or user.is_read_only:
        finder_kinds[3:3] = [("bank_transfer", _bank_transfers), ("card_topup", _card_topups)]
    for kind, finder in finder_kinds:
        hits = finder(user, query, per_kind + 1)
        if hits:
            results.groups.append(Group(kind, hits[:per_kind], more=len(hits) > per_kind))
    return results


def _customers(user: User, query: str, limit: int) -> list[Hit]:
    matches = (
        customers_visible_to(user)
        .filter(Q(name__icontains=query) | Q(code__icontains=query) | Q(gateway_keys__key__icontains=query))
        .distinct()
        .order_by("name", "pk")[:limit]
    )
    return [
        Hit("customer", c.name, c.code, reverse("staff-customer-detail", args=[c.pk]), c.code == query)
        for c in matches
    ]


def _invoices(user: User, query: str, limit: int) -> list[Hit]:
    matches = invoices_visible_to(user).filter(number__icontains=query).order_by("-pk")[:limit]
    return [
        Hit(
            "invoice",
            inv.number,
            f"{inv.customer.name} · {amount_display(inv.total, inv.currency)} {inv.currency} · "
            f"{inv.get_status_display()}",
            reverse("staff-invoice-detail", args=[inv.pk]),
            inv.number.casefold() == query.casefold(),
        )
        for inv in matches
    ]


def _payments(user: User, query: str, limit: int) -> list[Hit]:
    matches = (
        payments_visible_to(user)
        .filter(Q(reference__icontains=query) | Q(stripe_session_id=query) | Q(payment_intent_id=query))
        .order_by("-pk")[:limit]
    )
    return [
        Hit(
            "payment",
            p.reference or p.payment_intent_id or p.stripe_session_id or str(p.pk),
            f"{p.customer.name} · {amount_display(p.amount, p.currency)} {p.currency} · "
            f"{p.get_method_display()}",
            reverse("staff-payment-detail", args=[p.pk]),
        )
        for p in matches
    ]


def _bank_transfers(user: User, query: str, limit: int) -> list[Hit]:
    matches = bank_transfers_visible_to(user).filter(reference__icontains=query).order_by("-pk")[:limit]
    return [
        Hit(
            "bank_transfer",
            t.reference,
            f"{t.customer.name} · {amount_display(t.amount, t.currency)} {t.currency} · "
            f"{t.get_status_display()}",
            reverse("staff-bank-transfer-detail", args=[t.pk]),
        )
        for t in matches
    ]


def _card_topups(user: User, query: str, limit: int) -> list[Hit]:
    # Stripe ids and our top-up reference are whole identifiers: matched exactly, on unique columns.
    condition = Q(stripe_session_id=query) | Q(payment_intent_id=query)
    with contextlib.suppress(ValueError):  # not a UUID: not a top-up reference
        condition |= Q(public_id=uuid.UUID(query))
    matches = card_topups_visible_to(user).filter(condition).order_by("-pk")[:limit]
    hits = []
    for t in matches:
        # The top-ups list has no detail page; its search finds the top-up by its Stripe ids.
        handle = t.payment_intent_id or t.stripe_session_id or t.customer.name
        hits.append(
            Hit(
                "card_topup",
                str(t.public_id),
                f"{t.customer.name} · {amount_display(t.amount, t.currency)} {t.currency} · "
                f"{t.get_status_display()}",
                f"{reverse('staff-card-topup-list')}?{urlencode({'q': handle})}",
            )
        )
    return hits


def _requests(user: User, query: str, limit: int) -> list[Hit]:
    # One probe of the (source_id, request_id) primary key per source: a handful of index lookups however
    # many events are stored, where filtering the events by request id would read every partition.
    sources = dict(GatewaySource.objects.values_list("pk", "name"))
    keys = list(
        UsageRequestKey.objects.filter(source_id__in=list(sources), request_id=query).order_by(
            "-occurred_at"
        )[:limit]
    )
    if not keys:
        return []
    visible = set(customers_visible_to(user).values_list("pk", flat=True))
    hits = []
    for key in keys:
        # occurred_at is the partition key: the lookup reads one partition.
        event = (
            UsageEvent.objects.filter(
                source_id=key.source_id, request_id=key.request_id, occurred_at=key.occurred_at, hop=0
            )
            .values("customer_id", "customer__name", "model_name")
            .first()
        )
        if event is None or (event["customer_id"] is not None and event["customer_id"] not in visible):
            continue
        customer = event["customer__name"] or _("no customer (unmapped key)")
        hits.append(
            Hit(
                "request",
                key.request_id,
                f"{customer} · {event['model_name']} · {sources[key.source_id]} · "
                f"{timezone.localtime(key.occurred_at):%Y-%m-%d %H:%M}",
                f"{reverse('staff-request-log')}?{urlencode({'request_id': key.request_id})}",
                exact=True,
            )
        )
    return hits
