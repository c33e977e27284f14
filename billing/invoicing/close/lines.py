"""The lines a close writes: invoice lines from measured usage and from what else is owed, statement lines.

Amounts are rounded once, per line, by ``billing.money.line_round`` (the rounding every invoice line gets,
``billing.invoicing.services.line_build``); usage lines are built here directly because a close makes
~500,000 of them. Subscription, service-charge and pack lines carry the ``source_key`` that keeps them from
being billed twice (package docstring).
"""

import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from billing.allowances.models import PackPurchase, Subscription
from billing.invoicing.close.measure import ZERO, billed_against, line_tokens, token_classes
from billing.invoicing.close.windows import Shares
from billing.invoicing.models import InvoiceLine, ServiceCharge
from billing.invoicing.periods import Period, period_of_day
from billing.invoicing.pricing import UnitPrices
from billing.invoicing.services import BuiltLine, LineDraft, line_build
from billing.money import ledger_round, line_round, quantize_money
from catalog.models import AIModel
from common.days import local_midnight

CloseKeys = dict[str, tuple[int, str]]
"""``<period>:<customer>:<currency>`` → (customer id, currency): one invoice each."""


def _months(first: date, last: date) -> list[Period]:
    """The calendar months from the one holding ``first`` to the one holding ``last`` (none if
    ``last`` is earlier)."""
    months, day = [], first.replace(day=1)
    while day <= last:
        month = period_of_day(day)
        months.append(month)
        day = month.end + timedelta(days=1)
    return months


def _quarters(first: date, last: date) -> list[Period]:
    """The calendar quarters from the one holding ``first`` to the one holding ``last``."""
    quarters = (period_of_day(m.start, quarter=True) for m in _months(first, last))
    return list({q.label: q for q in quarters}.values())


def _due_until(period: Period, ends_on: date | None) -> date:
    """The last day whose month (or quarter) a close of ``period`` bills for an item ending ``ends_on``."""
    return period.end if ends_on is None else min(ends_on, period.end)


def other_lines(customer_ids: list[int], period: Period) -> dict[tuple[int, str], list[LineDraft]]:
    """Every subscription month, service charge and pack due by the period's end, per (customer, currency).

    Cumulative, like usage: each month of a subscription from its first to the period's last (or the
    subscription's end), each month or quarter of a recurring charge likewise, each one-off charge dated by
    the period's end and each pack bought by then, whatever the period that holds it. The caller drops
    the keys already invoiced or paid by the wallet (``measure.billed_keys``), so what an earlier close
    could not bill (the customer was on another cadence then, or its invoice came to zero or less) lands
    on this one, and nothing twice. Subscriptions and monthly charges are keyed per calendar month
    (``subscription:<id>:2026-07``), quarterly charges per quarter and one-off charges once
    (``service:<id>``), whatever the customer's cadence; a line for another month or quarter than the
    period's own names it.
    """
    out: dict[tuple[int, str], list[LineDraft]] = defaultdict(list)
    quarter = period_of_day(period.end, quarter=True)
    subs = (
        Subscription.objects.filter(
            customer_id__in=customer_ids, starts_on__lte=period.end, plan__monthly_fee__gt=0
        )
        .select_related("plan")
        .order_by("customer_id", "pk")
    )
    for sub in subs:
        for month in _months(sub.starts_on, _due_until(period, sub.ends_on)):
            out[(sub.customer_id, sub.plan.currency)].append(
                LineDraft(
                    kind=InvoiceLine.Kind.SUBSCRIPTION,
                    description=f"{sub.plan.name} ({month.label})",
                    amount_exact=sub.plan.monthly_fee,
                    quantity=Decimal(1),
                    unit="month",
                    unit_price=sub.plan.monthly_fee,
                    details={"subscription": sub.pk, "months": 1, "month": month.label},
                    source_key=f"subscription:{sub.pk}:{month.label}",
                )
            )
    charges = ServiceCharge.objects.filter(
        customer_id__in=customer_ids, is_active=True, starts_on__lte=period.end
    ).order_by("customer_id", "pk")
    for charge in charges:
        if charge.recurrence == ServiceCharge.Recurrence.ONE_OFF:
            billable = [(f"service:{charge.pk}", "each", charge.description)]
        else:
            monthly = charge.recurrence == ServiceCharge.Recurrence.MONTHLY
            # A quarterly charge is due for a quarter from the first close (month or quarter) of it in
            # which the charge is active, as a monthly one is for its month.
            spans = (_months if monthly else _quarters)(charge.starts_on, _due_until(period, charge.ends_on))
            own = period.label if monthly else quarter.label
            billable = [
                (
                    f"service:{charge.pk}:{p.label}",
                    "month" if monthly else "quarter",
                    charge.description if p.label == own else f"{charge.description} ({p.label})",
                )
                for p in spans
            ]
        for key, unit, description in billable:
            out[(charge.customer_id, charge.currency)].append(
                LineDraft(
                    kind=InvoiceLine.Kind.SERVICE,
                    description=description,
                    amount_exact=charge.amount,
                    quantity=Decimal(1),
                    unit=unit,
                    unit_price=charge.amount,
                    service_charge_id=charge.pk,
                    source_key=key,
                )
            )
    # A pack charged to the wallet (``AllowanceCharge``) is never the invoice's: left out here already.
    packs = (
        PackPurchase.objects.filter(
            customer_id__in=customer_ids,
            purchased_at__lt=local_midnight(period.end + timedelta(days=1)),
            charge__isnull=True,
        )
        .select_related("pack")
        .order_by("customer_id", "purchased_at", "pk")
    )
    for purchase in packs:
        out[(purchase.customer_id, purchase.currency)].append(
            LineDraft(
                kind=InvoiceLine.Kind.PACK,
                description=purchase.pack.name,
                amount_exact=purchase.price,
                unit="each",
                unit_price=purchase.price,
                details={"pack_purchase": purchase.pk},
                source_key=f"pack:{purchase.pk}",
            )
        )
    return out


def usage_lines(
    cumulative: dict[tuple[int, int, str], dict],
    billed: dict[tuple[int, int, str], dict],
    *,
    period: Period,
    models: dict[int, AIModel],
    prices: UnitPrices,
    tax_rates: dict[int, Decimal],
    windows: Shares | None = None,
) -> dict[tuple[int, str], list[BuiltLine]]:
    """Usage lines, rounded, per (customer, currency): cumulative usage minus what was billed
    (``measure.billed_against``: a later period's interim invoices only as far as they cover it).

    ``cumulative`` and ``billed`` are ``measure.usage_cumulative`` and ``measure.usage_billed``;
    ``windows`` (``windows.window_shares``) what of each line was sold at a time-of-day window's prices,
    put in its details as ``windows`` and never changing its amount. The quantity counts tokens only
    (not images, not audio milliseconds). The hot loop of a close (one pass per line, ~500,000 at 10,000
    customers): it builds the rounded line and its details JSON directly instead of going through
    LineDraft and json.dumps.
    """
    out: dict[tuple[int, str], list[BuiltLine]] = defaultdict(list)
    suffixes: dict[int, str] = {}
    usage = InvoiceLine.Kind.USAGE
    for (customer_id, model_id, currency), sums in sorted(cumulative.items()):
        before = billed.get((customer_id, model_id, currency))
        amount = ledger_round(sums["amount"] or ZERO)
        tokens = token_classes(sums)
        previously = ZERO
        if before is not None:
            previously, counted = billed_against(before, amount, tokens)
            amount -= previously
            # A unit class billed before and absent now (its usage re-rated away) still nets out.
            tokens = {cls: tokens.get(cls, 0) - n for cls, n in counted.items() if n or cls in tokens}
        if amount == 0 and not any(tokens.values()):
            continue
        model = models[model_id]
        price_details = prices.details(customer_id, model, currency)
        details = None  # stored as details_json; BuiltLine.model() parses it where a dict is needed
        shares = windows.get((customer_id, model_id, currency)) if windows else None
        if previously or shares:
            details = {"tokens": tokens, **price_details}
            if shares:
                details["windows"] = shares
            if previously:
                details["previously_billed"] = str(previously)
            details_json = json.dumps(details, separators=(",", ":"))
        else:
            key = id(price_details)
            if key not in suffixes:
                suffixes[key] = json.dumps(price_details, separators=(",", ":"))[1:]
            body = ",".join(f'"{cls}":{n}' for cls, n in tokens.items())
            details_json = (
                '{"tokens":{' + body + "}" + ("," + suffixes[key] if len(suffixes[key]) > 1 else "}")
            )
        rate = tax_rates[customer_id]
        rounded = line_round(amount, tax_rate=rate, currency=currency)
        lines = out[(customer_id, currency)]
        lines.append(
            BuiltLine(
                position=len(lines) + 1,
                kind=usage,
                description=model.name,
                ai_model_id=model_id,
                quantity=Decimal(line_tokens(tokens)),
                unit="tokens",
                unit_price=None,
                details=details,
                amount_exact=rounded.exact,
                amount=rounded.amount,
                tax_rate=rate,
                tax_amount=rounded.tax,
                service_charge_id=None,
                source_key=f"usage:{customer_id}:{model_id}:{currency}:{period.label}",
                details_json=details_json,
            )
        )
    return out


def other_lines_add(
    built_of: dict[tuple[int, str], list[BuiltLine]],
    drafts_of: dict[tuple[int, str], list[LineDraft]],
    *,
    already: set[str],
    tax_rates: dict[int, Decimal],
) -> None:
    """Round and append to ``built_of`` the drafts of ``other_lines`` whose source key was not billed,
    each key once."""
    taken = set(already)
    for (cid, ccy), drafts in drafts_of.items():
        lines = built_of[(cid, ccy)]
        for d in drafts:
            if d.source_key not in taken:
                taken.add(d.source_key)
                lines.append(line_build(d, currency=ccy, tax_rate=tax_rates[cid], position=len(lines) + 1))


def close_keys_billable(built_of: dict[tuple[int, str], list[BuiltLine]], period: Period) -> CloseKeys:
    """The invoices worth making: one per (customer, currency) whose lines total more than zero.

    No invoice with a total of zero or less: a net credit (usage lowered by re-rating, a negative
    adjustment) stays unbilled and, billing being cumulative, reduces the next close's invoice.
    """
    return {
        f"{period.label}:{cid}:{ccy}": (cid, ccy)
        for (cid, ccy), ls in built_of.items()
        if ls and sum((ln.amount + ln.tax_amount for ln in ls), ZERO) > 0
    }


def statement_lines(rows, models: dict[int, AIModel]) -> dict[tuple[int, str], list[dict]]:
    """A prepaid statement's lines per (customer, currency) from ``measure.usage_in_period`` rows:
    per model requests, tokens and amount (exact, and rounded to the currency's minor unit)."""
    grouped: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for r in rows:
        amount = ledger_round(r["amount"] or Decimal("0"))
        grouped[(r["customer_id"], r["sell_currency"])].append(
            {
                "model": models[r["model_id"]].name,
                "model_id": r["model_id"],
                "requests": int(r["requests"] or 0),
                "tokens": token_classes(r),
                "amount_exact": str(amount),
                "amount": str(quantize_money(amount, r["sell_currency"])),
            }
        )
    return grouped
