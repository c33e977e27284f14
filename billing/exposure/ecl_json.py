"""The expected-credit-loss report as the command and the API print it: decimal strings, rates in percent.

Top level: the base-currency view (``buckets``, ``total``, ``gross_total``, ``prior_allowance``,
``change``); ``currencies``: each currency in the same shape. After posting, each currency's figures are
its run's (the allowance held before it and the change it booked), with the run and journal ids.

A currency without a rate into the base currency at the date is named in ``missing_rates``
(``"JPY→CNY 2026-12-06"``) and the base view's amounts are null — never a sum that leaves it out or
counts it at 0 or 1; each currency's figures, which need no rate, are all there.
"""

from decimal import Decimal

from django.utils.translation import gettext as _

from billing.exposure.ecl import BucketEcl, CurrencyEcl, EclMeasure, base_view, pairs_text, rate_text
from billing.exposure.models import EclRun
from billing.money import quantize_money
from billing.receivables.aging import BUCKET_KEYS, BUCKET_LABELS


def currency_of_run(run: EclRun) -> CurrencyEcl:
    """A run's figures as a measurement of its currency."""
    buckets = tuple(
        BucketEcl(row["bucket"], Decimal(row["gross"]), Decimal(row["rate"]), Decimal(row["ecl"]))
        for row in run.buckets
    )
    # Stored at the ledger's twelve places; the amounts are money of the currency.
    return CurrencyEcl(
        currency=run.currency,
        buckets=buckets,
        total=quantize_money(run.total, run.currency),
        prior_allowance=quantize_money(run.prior_allowance, run.currency),
    )


def report_json(measure: EclMeasure, *, runs: list[EclRun] | None = None) -> dict:
    """The report of ``measure``; with ``runs`` (it was posted) each run's figures for its currency."""
    currencies = dict(measure.currencies)
    by_currency = {run.currency: run for run in runs or []}
    for currency, run in by_currency.items():
        currencies[currency] = currency_of_run(run)
    if runs is None:
        base, missing = measure.base, measure.missing_rates
    else:
        base, missing = base_view(currencies, measure.as_of, measure.rates)
    answer = {
        "as_of": measure.as_of.isoformat(),
        "base_currency": measure.base_currency,
        "method": measure.method,
        "rates": [rate_text(rate) for rate in measure.rates],
        **(base.as_json() if base is not None else _unconverted(measure.rates)),
        "missing_rates": pairs_text(missing),
        "posted": runs is not None,
        "currencies": {},
    }
    for currency, figures in currencies.items():
        entry = figures.as_json()
        if runs is not None:
            run = by_currency.get(currency)
            entry["run"] = run.pk if run else None
            entry["journal_transaction"] = run.journal_transaction_id if run else None
        answer["currencies"][currency] = entry
    if measure.derivation is not None:
        answer["derivation"] = measure.derivation.as_json()
    return answer


def _unconverted(rates) -> dict:
    """The base view when a currency has no rate: the rates, and null for every amount."""
    return {
        "buckets": [
            {"bucket": key, "gross": None, "rate": rate_text(rate), "ecl": None}
            for key, rate in zip(BUCKET_KEYS, rates, strict=True)
        ],
        **dict.fromkeys(("total", "gross_total", "prior_allowance", "change")),
    }


def _figures_text(figures: dict) -> list[str]:
    bucket, gross, rate, ecl, total = _("Bucket"), _("Gross"), _("Loss rate"), _("ECL"), _("Total")
    held, change = _("Allowance held"), _("Change")
    lines = [f"{bucket:<16}{gross:>20}{rate + ' %':>12}{ecl:>20}"]
    for row in figures["buckets"]:
        label = str(BUCKET_LABELS[row["bucket"]])
        lines.append(f"{label:<16}{row['gross']:>20}{row['rate']:>12}{row['ecl']:>20}")
    lines.append(f"{total:<16}{figures['gross_total']:>20}{'':>12}{figures['total']:>20}")
    lines.append(f"{held}: {figures['prior_allowance']}")
    lines.append(f"{change}: {figures['change']}")
    if figures.get("journal_transaction"):
        lines.append(_("Posted: journal transaction #%(id)s") % {"id": figures["journal_transaction"]})
    return lines


def report_text(answer: dict) -> str:
    """The report as a plain table for people at a terminal (base currency, then each currency)."""
    lines = [
        _("Expected credit loss as of %(date)s (%(method)s rates)")
        % {"date": answer["as_of"], "method": answer["method"]}
    ]
    lines += ["", _("In the base currency, %(currency)s") % {"currency": answer["base_currency"]}]
    if answer["missing_rates"]:
        lines.append(
            _(
                "No base-currency total: no exchange rate on or before %(pairs)s. Each currency's figures "
                "below stand, and posting (per currency) is not affected."
            )
            % {"pairs": ", ".join(answer["missing_rates"])}
        )
    else:
        lines += _figures_text(answer)
    for currency, figures in answer["currencies"].items():
        lines += ["", _("In %(currency)s") % {"currency": currency}]
        lines += _figures_text(figures)
    if answer["posted"]:
        lines += ["", _("The change was posted.")]
    return "\n".join(lines)
