"""Progressive billing: an interim invoice as soon as a credit customer's unbilled usage passes its threshold.

Be extremely careful changing this: it bills credit customers mid-period, and the period close bills only
what it left (``billing/invoicing/close/__init__.py``).

* **What is measured.** The credit usage not yet invoiced, in the terms' currency, exactly as the close
  measures it: credit usage by ``occurred_at`` up to the cut-off (``measure.usage_credit``: daily and
  hourly rollups, the current hour's raw events) minus what every standing invoice's usage lines billed
  (``measure.usage_billed``), per model, rounded once per line (``lines.usage_lines``). Not the unbilled
  account's balance: that one also holds usage delivered after the cut-off and the rounding trace of the
  usage batches, and it misses what a voided invoice billed (its credit note reversed usage revenue, so
  the next invoice bills it again: ``close.unbilled``). The measured figure is what the interim invoice
  bills, so the threshold is compared with exactly the amount invoiced.
* **When.** At or above ``progressive_threshold`` (an amount in the terms' currency), or at or above
  ``progressive_limit_share`` × ``credit_limit``; blank fields (or a share of a zero limit) are off.
  Checked on commit of every posting that accrued usage to such a customer (``billing.terms.credit``
  sends ``unbilled_accrued``; ``receivers`` queues ``tasks.progressive_check_task``) and by the periodic
  safety net ``tasks.progressive_billing_task``.
* **The cut-off is the instant of the check**, the current hour read from the raw events: the usage that
  crossed the threshold is on the invoice at once. An event that happened before the cut-off but arrives
  after it (a late gateway delivery, a re-rating) is billed by the next invoice, interim or close, since
  every invoice bills cumulatively; nothing is lost or billed twice.
* **The period close bills only the rest**: its usage lines are cumulative usage minus what earlier
  invoices billed, and an interim invoice is such an invoice. A re-run of an earlier period's close
  (a late one-off charge) counts a later period's interim invoices only as far as they cover its own
  usage (``measure.billed_against``): the late usage they billed is not billed again, and none of the
  later period's usage is credited on the earlier invoice.
* **The previous period must be closed first** for the customer: its cadence's last period has a done
  close of every book or of the customer's seller's book. An interim invoice of December taken before
  November's close ran would carry November's usage (billing is cumulative) and leave November's invoice
  crediting December's. Until then the check makes nothing and the next one tries again. (A new
  installation closes the month before its first, an empty close, to bill progressively in the first.)
* **Issued at once**, whatever ``review_invoices`` says: a draft starts no due date, so exposure would wait
  for finance after all, and the interim invoice has only usage lines at the rated prices — the figures a
  close would compute — with nothing typed by hand to review. It is numbered in the normal invoice series
  of the customer's seller, due per the terms, posted by ``services.invoice_issue`` (Dr receivable, Cr
  unbilled) and followed by the usual issue signal (credit applied). Issuing sends no e-mail, for these
  as for close invoices: finance sends them from the invoice pages.
* **Race-safe and re-run safe**: each customer in its own transaction holding its terms row (as the close
  does) and its unbilled accounts locked, measured under the lock: a second check waiting on the lock
  then finds the usage billed and makes nothing. The ``close_key`` is ``interim:<customer>:<currency>:
  <cut-off, UTC>``, never a close's ``<period>:<customer>:<currency>``.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.invoicing.close.lines import usage_lines
from billing.invoicing.close.measure import ZERO, credit_intervals, usage_billed, usage_credit
from billing.invoicing.close.unbilled import rebill_mark, unbilled_accounts_lock
from billing.invoicing.close.windows import window_shares
from billing.invoicing.models import Invoice, InvoiceLine, PeriodClose
from billing.invoicing.periods import Period, period_of_day
from billing.invoicing.pricing import UnitPrices
from billing.invoicing.services import BuiltLine, invoice_issue, invoice_totals
from billing.money import money_text
from billing.terms.credit import PROGRESSIVE
from billing.terms.models import CREDIT_MODES, BillingTerms
from catalog.models import AIModel

logger = logging.getLogger(__name__)


class ProgressiveError(RuntimeError):
    """Some customers' checks failed (logged each); the others' interim invoices were issued."""


@dataclass(frozen=True)
class Trigger:
    """Why an interim invoice is due: the bar reached (in the terms' currency) and what set it."""

    bar: Decimal
    text: str


def progressive_customers() -> list[int]:
    """The customers billed progressively: on credit terms with a threshold or a share of a limit."""
    return list(
        BillingTerms.objects.filter(PROGRESSIVE, mode__in=CREDIT_MODES)
        .order_by("customer_id")
        .values_list("customer_id", flat=True)
    )


def current_period(terms: BillingTerms, day: date) -> Period:
    """The period of ``terms``' cadence holding ``day``: its month, or its quarter if billed quarterly."""
    return period_of_day(day, quarter=terms.mode == BillingTerms.Mode.QUARTERLY)


def previous_closed(terms: BillingTerms, period: Period) -> bool:
    """Whether the period before ``period`` (same cadence) has a done close that covered ``terms``'
    customer: of every book, or of its seller's book alone."""
    previous = period_of_day(period.start - timedelta(days=1), quarter=period.is_quarter)
    return (
        PeriodClose.objects.filter(state=PeriodClose.State.DONE, period=previous.label)
        .filter(Q(all_books=True) | Q(all_books=False, book_id=terms.customer.seller_id))
        .exists()
    )


def trigger_of(terms: BillingTerms, unbilled: Decimal) -> Trigger | None:
    """The lowest of ``terms``' progressive bars that ``unbilled`` (usage not yet invoiced, terms'
    currency, full precision) reaches; None when it reaches none, or none is set."""
    reached = []
    if terms.progressive_threshold is not None and unbilled >= terms.progressive_threshold:
        reached.append(
            Trigger(
                terms.progressive_threshold,
                _("the interim threshold of %(amount)s %(currency)s")
                % {
                    "amount": money_text(terms.progressive_threshold, terms.currency),
                    "currency": terms.currency,
                },
            )
        )
    if terms.progressive_limit_share is not None and terms.credit_limit > 0:
        bar = terms.progressive_limit_share * terms.credit_limit
        if unbilled >= bar:
            reached.append(
                Trigger(
                    bar,
                    _("%(share)s%% of the credit limit of %(limit)s %(currency)s")
                    % {
                        "share": format((terms.progressive_limit_share * 100).normalize(), "f"),
                        "limit": money_text(terms.credit_limit, terms.currency),
                        "currency": terms.currency,
                    },
                )
            )
    return min(reached, key=lambda t: t.bar) if reached else None


def interim_lines(terms: BillingTerms, cutoff: datetime, span: Period) -> list[BuiltLine]:
    """The usage lines an interim invoice at ``cutoff`` would carry, in ``terms``' currency: credit usage up
    to the cut-off minus what invoices billed, per model, rounded once — the close's own code, so a
    line here is exactly what a close at that instant would bill."""
    cid = terms.customer_id
    intervals = credit_intervals([cid])
    cumulative = usage_credit(intervals, low=None, high=cutoff)
    cumulative = {key: sums for key, sums in cumulative.items() if key[2] == terms.currency}
    if not cumulative:
        return []
    billed = usage_billed([cid], span)
    models = {m.pk: m for m in AIModel.objects.filter(pk__in={key[1] for key in cumulative})}
    built_of = usage_lines(
        cumulative,
        billed,
        period=span,
        models=models,
        prices=UnitPrices(period=span, customer_ids=[cid]),
        tax_rates={cid: terms.tax_rate},
        windows=window_shares([cid], span, intervals, high=cutoff),
    )
    rebill_mark(built_of, billed)
    return built_of.get((cid, terms.currency), [])


def _cutoff_text(cutoff: datetime) -> str:
    """The cut-off as the operator reads it: local time, with the zone named."""
    return f"{timezone.localtime(cutoff):%Y-%m-%d %H:%M} ({timezone.get_current_timezone_name()})"


def _span(terms: BillingTerms, period: Period, cutoff_day: date) -> Period:
    """What the interim invoice covers: from the day of the customer's last interim invoice of the period
    (its cut-off fell in that day) or the period's first day, to the cut-off's day."""
    last = (
        Invoice.objects.filter(customer_id=terms.customer_id, kind=Invoice.Kind.INTERIM, period=period.label)
        .exclude(status=Invoice.Status.VOID)
        .order_by("-period_end")
        .values_list("period_end", flat=True)
        .first()
    )
    start = last if last is not None and last <= cutoff_day else period.start
    return Period(label=period.label, start=start, end=cutoff_day)


def _interim_make(customer_id: int, *, at: datetime | None, actor) -> Invoice | None:
    """Issue ``customer_id``'s interim invoice if one is due now (module docstring); else None."""
    with transaction.atomic(durable=True):
        # The terms row first, as the close locks it: a close or a second check of this customer waits
        # here, then measures after this one committed.
        terms = (
            BillingTerms.objects.select_for_update(of=("self",))
            .select_related("customer__seller")
            .filter(PROGRESSIVE, customer_id=customer_id, mode__in=CREDIT_MODES)
            .first()
        )
        if terms is None:
            return None
        cutoff = at or timezone.now()
        cutoff_day = timezone.localdate(cutoff)
        period = current_period(terms, cutoff_day)
        if not previous_closed(terms, period):
            logger.info("Interim invoice of customer %s waits for the close before %s", customer_id, period)
            return None
        close_key = f"interim:{customer_id}:{terms.currency}:{cutoff.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}"
        if Invoice.objects.filter(close_key=close_key).exists():
            return None
        # No usage batch of the customer posts until commit: what is measured is what unbilled holds.
        unbilled_accounts_lock([customer_id])
        span = _span(terms, period, cutoff_day)
        lines = interim_lines(terms, cutoff, span)
        unbilled = sum((ln.amount_exact for ln in lines), ZERO)
        trigger = trigger_of(terms, unbilled)
        if trigger is None or sum((ln.amount + ln.tax_amount for ln in lines), ZERO) <= 0:
            return None
        customer = terms.customer
        with translation.override(customer.language):
            trigger = trigger_of(terms, unbilled)  # again, for its wording in the customer's language
            notes = _(
                "Interim invoice: the usage up to %(cutoff)s not yet invoiced, %(amount)s %(currency)s,"
                " reached %(trigger)s. The invoice for %(period)s bills only the usage after it."
            ) % {
                "cutoff": _cutoff_text(cutoff),
                "amount": money_text(unbilled, terms.currency),
                "currency": terms.currency,
                "trigger": trigger.text,
                "period": period.label,
            }
        invoice = Invoice.objects.create(
            customer=customer,
            kind=Invoice.Kind.INTERIM,
            close_key=close_key,
            period=period.label,
            period_start=span.start,
            period_end=span.end,
            currency=terms.currency,
            language=customer.language,
            notes=notes,
        )
        for ln in lines:
            ln.invoice_id = invoice.pk
        InvoiceLine.objects.bulk_create([ln.model() for ln in lines])
        invoice_totals(invoice, lines)
        invoice.save(update_fields=["subtotal", "tax_amount", "total"])
        invoice = invoice_issue(invoice=invoice, actor=actor, issue_date=cutoff_day)
    logger.info("Interim invoice %s for customer %s: %s", invoice.number, customer_id, invoice.total)
    return invoice


def progressive_check(customer_ids, *, at: datetime | None = None, actor=None) -> list[Invoice]:
    """Issue an interim invoice to each of these customers whose credit usage not yet invoiced reached a
    progressive bar (module docstring); return the invoices issued.

    ``at``: the cut-off, now by default (tests and re-runs name it). Customers not billed progressively
    are skipped. Each customer is its own durable transaction: call it outside any other. A customer
    whose check fails is logged and skipped, so it never keeps the others from being billed; then
    ``ProgressiveError`` names them all once every other customer was checked.
    """
    issued, failed = [], []
    for customer_id in sorted(set(customer_ids)):
        try:
            invoice = _interim_make(customer_id, at=at, actor=actor)
        except Exception:
            logger.exception("Progressive-billing check of customer %s failed", customer_id)
            failed.append(customer_id)
            continue
        if invoice is not None:
            issued.append(invoice)
    if failed:
        raise ProgressiveError(
            f"Progressive-billing check failed for customers {failed};"
            f" {len(issued)} interim invoice(s) issued."
        )
    return issued
