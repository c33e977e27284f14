"""Risk flags of credit customers: an invoice overdue beyond the terms' days, a day's usage spiking.

Two signs, each off until its field on ``BillingTerms`` is set, and only for customers on credit terms:

* **overdue** (``overdue_flag_days`` = N): some invoice is still unpaid more than N days after its due date
  (its age by the aging rule, ``billing.receivables.aging``: the date − the due date, or the issue date when
  it has none), counting unapplied credit against the oldest invoices first as dunning does
  (``selectors.invoices_really_due``). Cleared once no invoice is that late.
* **usage spike** (``spike_factor`` = K): a day's rated usage (sell amount in the terms' currency, from the
  daily rollups) above K × the average of the 14 days before it. Today so far and yesterday are checked, so
  a spike stays flagged until a whole day has passed without one. A customer needs 7 days of usage history
  before that day (its first usage at least 7 days earlier; a younger history averages over the days it
  has), and a trailing average of zero compares with nothing, so neither raises a flag. Cleared when the
  day passes, or by finance after a look (``risk_flag_clear``): the days up to that clearance are then
  taken as seen and do not flag again.

An open ``RiskFlag`` (one per customer and kind, a database constraint) notifies once per crossing: an
e-mail (``risk_notify``) and a gateway webhook sent by ``billing.gateway.receivers`` when the row is
written. Under the *block* credit policy the gateway status answers suspended while the flag is open
(``billing.gateway.status``). Opening and closing are idempotent and safe under concurrent checks, as the
credit-limit breaches are (``billing.terms.credit``): the unique constraint lets one opener win, and a row
lock lets one closer.

Checked every few minutes for every customer (``risk_tasks.risk_flags_task``) and, for spikes, after each
committed usage batch (``risk_tasks.risk_after_usage``).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Max, Min, OuterRef, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import StaffRole
from billing.dunning.risk_notify import risk_flag_email_task
from billing.dunning.selectors import OPEN_STATUSES, invoices_really_due
from billing.invoicing.models import Invoice
from billing.money import LEDGER_QUANTUM
from billing.terms.models import CREDIT_MODES, BillingTerms, RiskFlag
from billing.usage.models import UsageDaily
from common.outbox import task_queue_on_commit

SPIKE_WINDOW_DAYS = 14
SPIKE_MIN_HISTORY_DAYS = 7
ZERO = Decimal("0")
# Who may clear a spike flag by hand (the risk page's POST).
CLEARERS = (StaffRole.FINANCE, StaffRole.ADMIN)


@dataclass(frozen=True)
class Finding:
    """What a check measured for one customer: the flag it calls for.

    ``measured``: days overdue, or the day's usage; ``threshold``: the days allowed, or K × the average;
    ``detail``: the invoice number, or the day (ISO) that spiked — words are the page's, in its language.
    """

    kind: str
    measured: Decimal
    threshold: Decimal
    detail: str


def _terms_watched(customer_ids=None):
    """Terms of customers to check: on credit with a risk field set, or holding an open flag."""
    terms = BillingTerms.objects.select_related("customer")
    watched = Q(mode__in=CREDIT_MODES) & (Q(overdue_flag_days__isnull=False) | Q(spike_factor__isnull=False))
    open_flag = Exists(RiskFlag.objects.filter(customer_id=OuterRef("customer_id"), ended_at__isnull=True))
    terms = terms.filter(watched | Q(open_flag))
    if customer_ids is not None:
        terms = terms.filter(customer_id__in=list(customer_ids))
    return terms


def overdue_findings(terms: list[BillingTerms], *, today: dt.date) -> dict[int, Finding]:
    """Customers with an invoice unpaid beyond their ``overdue_flag_days``: the oldest such invoice each.

    One grouped query finds who has an open invoice that old at all; only those few are then read invoice
    by invoice, so credit they hold but have not had allocated is counted first.
    """
    days = {t.customer_id: t.overdue_flag_days for t in terms if t.is_credit and t.overdue_flag_days}
    if not days:
        return {}
    aged_from = Coalesce(F("due_date"), F("issue_date"))
    oldest = (
        Invoice.objects.filter(customer_id__in=list(days), status__in=OPEN_STATUSES, issue_date__isnull=False)
        .annotate(aged_from=aged_from)
        .order_by()
        .values("customer_id", "currency")
        .annotate(oldest=Min("aged_from"))
    )
    findings: dict[int, Finding] = {}
    for row in oldest:
        customer_id, allowed = row["customer_id"], days[row["customer_id"]]
        if (today - row["oldest"]).days <= allowed:
            continue
        really = invoices_really_due(customer_id=customer_id, currency=row["currency"])
        owing = [pk for pk, amount in really.items() if amount > 0]
        late = (
            Invoice.objects.filter(pk__in=owing)
            .annotate(aged_from=aged_from)
            .filter(aged_from__lt=today - dt.timedelta(days=allowed))
            .order_by("aged_from", "number", "pk")
            .first()
        )
        if late is None:
            continue
        age = Decimal((today - late.aged_from).days)
        found = findings.get(customer_id)
        if found is None or age > found.measured:
            findings[customer_id] = Finding(RiskFlag.Kind.OVERDUE, age, Decimal(allowed), late.number or "")
    return findings


def _acknowledged(customer_ids) -> dict[int, dt.date]:
    """Per customer, the last day staff cleared a spike flag on: spikes up to that day were seen."""
    rows = (
        RiskFlag.objects.filter(
            customer_id__in=list(customer_ids), kind=RiskFlag.Kind.SPIKE, cleared_by__isnull=False
        )
        .values("customer_id")
        .annotate(last=Max("ended_at"))
    )
    return {r["customer_id"]: timezone.localdate(r["last"]) for r in rows}


def spike_findings(terms: list[BillingTerms], *, today: dt.date) -> dict[int, Finding]:
    """Customers whose usage today so far, or yesterday, passed ``spike_factor`` × its trailing average.

    Two queries for all of them: the daily sums of the last 15 days and today, and whether each customer's
    usage began before that window (then it has a full 14-day history behind both days checked).
    """
    spiking = {t.customer_id: t for t in terms if t.is_credit and t.spike_factor}
    if not spiking:
        return {}
    since = today - dt.timedelta(days=SPIKE_WINDOW_DAYS + 1)
    currency = {cid: t.currency for cid, t in spiking.items()}
    usage: dict[int, dict[dt.date, Decimal]] = {cid: {} for cid in spiking}
    rows = (
        UsageDaily.objects.filter(customer_id__in=list(spiking), day__gte=since, day__lte=today)
        .order_by()
        .values("customer_id", "sell_currency", "day")
        .annotate(amount=Sum("sell_amount"))
    )
    for row in rows:
        if row["sell_currency"] == currency[row["customer_id"]]:
            usage[row["customer_id"]][row["day"]] = row["amount"] or ZERO
    older = set(
        BillingTerms.objects.filter(customer_id__in=list(spiking))
        .filter(
            Exists(
                UsageDaily.objects.filter(
                    customer_id=OuterRef("customer_id"), sell_currency=OuterRef("currency"), day__lt=since
                )
            )
        )
        .values_list("customer_id", flat=True)
    )
    seen = _acknowledged(spiking)
    findings: dict[int, Finding] = {}
    for customer_id, terms_ in spiking.items():
        days = usage[customer_id]
        first = since - dt.timedelta(days=1) if customer_id in older else min(days, default=None)
        for day in (today, today - dt.timedelta(days=1)):
            if first is None or (customer_id in seen and day <= seen[customer_id]):
                continue
            found = _spike_on(day, days, first=first, factor=terms_.spike_factor)
            if found is not None:
                findings[customer_id] = found
                break
    return findings


def spike_history_days(*, first: dt.date | None, day: dt.date) -> int:
    """How many of the 14 days before ``day`` lie in the customer's history (usage began on ``first``)."""
    if first is None:
        return 0
    return max(0, min(SPIKE_WINDOW_DAYS, (day - first).days))


def _spike_on(day, usage: dict, *, first: dt.date, factor: Decimal) -> Finding | None:
    history = spike_history_days(first=first, day=day)
    if history < SPIKE_MIN_HISTORY_DAYS:
        return None  # too young to have a usual level: say nothing rather than flag every new customer
    window = [day - dt.timedelta(days=n) for n in range(1, history + 1)]
    average = sum((usage.get(d, ZERO) for d in window), ZERO) / history
    if average <= 0:
        return None  # K × 0 is no yardstick: a dormant customer's first request is not a spike
    threshold = (factor * average).quantize(LEDGER_QUANTUM)
    measured = usage.get(day, ZERO)
    if measured <= threshold:
        return None
    return Finding(RiskFlag.Kind.SPIKE, measured.quantize(LEDGER_QUANTUM), threshold, day.isoformat())


def risk_flags_check(*, customer_ids=None, kinds=None, today: dt.date | None = None) -> list[tuple]:
    """Open or close flags for these customers (None: everyone watched); return the changes made as
    ``(customer_id, kind, "raised"|"cleared")``. ``kinds`` narrows to some kinds (usage batches check
    spikes only: they cannot make an invoice late)."""
    today = today or timezone.localdate()
    kinds = tuple(kinds or RiskFlag.Kind.values)
    terms = list(_terms_watched(customer_ids))
    if not terms:
        return []
    findings: dict[str, dict[int, Finding]] = {}
    if RiskFlag.Kind.OVERDUE in kinds:
        findings[RiskFlag.Kind.OVERDUE] = overdue_findings(terms, today=today)
    if RiskFlag.Kind.SPIKE in kinds:
        findings[RiskFlag.Kind.SPIKE] = spike_findings(terms, today=today)
    open_flags = {
        (f.customer_id, f.kind): f
        for f in RiskFlag.objects.filter(
            customer_id__in=[t.customer_id for t in terms], kind__in=kinds, ended_at__isnull=True
        )
    }
    changes = []
    for terms_ in sorted(terms, key=lambda t: t.customer_id):
        for kind in kinds:
            found = findings[kind].get(terms_.customer_id)
            flag = open_flags.get((terms_.customer_id, kind))
            # A policy change while flagged is a new crossing: the gateway must hear of suspend/restore.
            if flag is not None and (found is None or flag.policy != terms_.credit_policy):
                if risk_flag_close(flag=flag):
                    changes.append((terms_.customer_id, kind, "cleared"))
                flag = None
            if found is not None and flag is None and _flag_open(terms=terms_, finding=found):
                changes.append((terms_.customer_id, kind, "raised"))
    return changes


def _flag_open(*, terms: BillingTerms, finding: Finding) -> bool:
    """Open a flag and queue its e-mail; the new row tells the gateways (``billing.gateway.receivers``)."""
    try:
        with transaction.atomic():
            flag = RiskFlag.objects.create(
                customer=terms.customer,
                kind=finding.kind,
                policy=terms.credit_policy,
                detail=finding.detail,
                measured=finding.measured,
                threshold=finding.threshold,
            )
            task_queue_on_commit(risk_flag_email_task, flag.pk)
    except IntegrityError:
        return False  # another worker opened it first (one open flag per customer and kind); it notified
    return True


def risk_flag_close(*, flag: RiskFlag, actor=None) -> bool:
    """Close a flag still open (the row lock lets one worker only); its end tells the gateways."""
    with transaction.atomic():
        flag = RiskFlag.objects.select_for_update().filter(pk=flag.pk, ended_at__isnull=True).first()
        if flag is None:
            return False
        flag.ended_at = timezone.now()
        flag.cleared_by = actor
        flag.save(update_fields=["ended_at", "cleared_by"])
    return True


def risk_flag_clear(*, flag: RiskFlag, actor) -> RiskFlag:
    """Staff clear a usage-spike flag after a look; the spike's days do not flag again.

    Raises ``ValidationError`` for an overdue flag (it clears when the invoice is paid, credited or written
    off; clearing it by hand would only see it raised again), for a flag already cleared, and for anyone
    but finance or an administrator.
    """
    if getattr(actor, "staff_role", None) not in CLEARERS:
        raise ValidationError(_("Only finance or an administrator may clear a risk flag."))
    if flag.kind != RiskFlag.Kind.SPIKE:
        raise ValidationError(
            _(
                "An overdue flag clears by itself once no invoice is that late: record the payment, a "
                "credit note or a write-off."
            )
        )
    if not risk_flag_close(flag=flag, actor=actor):
        raise ValidationError(_("This flag was already cleared."))
    flag.refresh_from_db()
    return flag
