"""The expected-credit-loss page (``/reports/ecl/``): the provision matrix, a preview at any date, the
cohort the derived rates come from, "Post the change" and the runs made.

Roles: finance and admin read and write; auditors read (no form is offered to them, and a POST is refused
by ``staff_required`` and the auditor middleware); sales, support and portal users are refused (403).
The page measures the operator's book; a resale sub-distributor's book is measured by the command and the
monthly job with ``book``.
"""

from decimal import Decimal

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from accounts.permissions import staff_required
from billing.exposure.ecl import EclInputError, EclMeasure, ecl_measure, rate_text
from billing.exposure.ecl_forms import MATRIX_FIELDS, EclAsOfForm, EclMatrixForm, EclPostForm, EclRunFilter
from billing.exposure.ecl_history import Derivation, EclError, rates_derive
from billing.exposure.ecl_matrix import ecl_matrix_update
from billing.exposure.ecl_post import ecl_post, runs_of_book
from billing.exposure.models import EclMatrix, EclRun
from billing.fx.rates import FxRatesMissing
from billing.money import money_text
from billing.receivables.aging import BUCKET_LABELS
from common.listing import filtered_page

ECL_ROLES = (StaffRole.ADMIN, StaffRole.FINANCE)
# Raw derived rates are shown to two places of a percent; the run keeps six.
CENT_OF_PERCENT = Decimal("0.01")


def _preview(day) -> tuple[EclMeasure | None, str]:
    try:
        return ecl_measure(day), ""
    except (EclError, FxRatesMissing) as exc:
        return None, str(exc)


def _cohort(day, matrix: EclMatrix, measure: EclMeasure | None) -> tuple[Derivation | None, str]:
    """What history says at ``day``, with the matrix's settings: the rates in force when the method is
    derived, a reference beside entered rates otherwise."""
    if measure is not None and measure.derivation is not None:
        return measure.derivation, ""
    try:
        derivation = rates_derive(
            day,
            history_months=matrix.history_months,
            forward_adjustment=matrix.forward_adjustment,
            round_whole=matrix.round_whole,
        )
    except (EclError, FxRatesMissing) as exc:
        return None, str(exc)
    return derivation, ""


def _bucket_rows(figures) -> list[dict]:
    return [
        {"label": BUCKET_LABELS[b.bucket], "gross": b.gross, "rate": rate_text(b.rate), "ecl": b.ecl}
        for b in figures.buckets
    ]


def _currency_views(measure: EclMeasure | None) -> list[dict]:
    """Each currency's table; none when the only currency is the base one (its table is the base view)."""
    if measure is None:
        return []
    figures = list(measure.currencies.values())
    if measure.base is not None and [f.currency for f in figures] == [measure.base_currency]:
        return []
    return [{"figures": f, "rows": _bucket_rows(f)} for f in figures]


def _cohort_rows(derivation: Derivation) -> list[dict]:
    rows = []
    for index, key in enumerate(BUCKET_LABELS):
        rows.append(
            {
                "label": BUCKET_LABELS[key],
                "reached": [
                    {"amount": cohort.reached[index], "currency": cohort.currency}
                    for cohort in derivation.cohorts
                ],
                "pooled": derivation.pooled.reached[index],
                "raw": derivation.raw_rates[index].quantize(CENT_OF_PERCENT),
                "rate": rate_text(derivation.rates[index]),
            }
        )
    return rows


def _page(request, *, matrix_form: EclMatrixForm, status: int = 200):
    today = timezone.localdate()
    matrix = EclMatrix.load()
    as_of_form = EclAsOfForm(request.GET if "as_of" in request.GET else None)
    day = as_of_form.day(today) if as_of_form.is_bound and as_of_form.is_valid() else today
    measure, problem = (None, "") if as_of_form.errors else _preview(day)
    derivation, cohort_problem = _cohort(day, matrix, measure)
    runs = runs_of_book(None).select_related("journal_transaction", "created_by")
    context = {
        "matrix": matrix,
        "matrix_form": matrix_form,
        "as_of_form": as_of_form,
        "day": day,
        "measure": measure,
        "problem": problem,
        "currencies": _currency_views(measure),
        "base": {"figures": measure.base, "rows": _bucket_rows(measure.base)}
        if measure and measure.base
        else None,
        "missing_pairs": [f"{c}→{b}" for c, b, _d in measure.missing_rates] if measure else [],
        "derivation": derivation,
        "cohort_rows": _cohort_rows(derivation) if derivation else [],
        "cohort_problem": cohort_problem,
        "can_edit": not request.user.is_read_only,
        **filtered_page(request, runs, EclRunFilter),
    }
    return render(request, "exposure/ecl.html", context, status=status)


@staff_required(roles=ECL_ROLES)
def ecl_page(request):
    form = EclMatrixForm(instance=EclMatrix.load())
    if request.user.is_read_only:
        for field in form.fields.values():
            field.disabled = True
    return _page(request, matrix_form=form)


@require_POST
@staff_required(roles=ECL_ROLES, auditor_reads=False)
def ecl_matrix_save(request):
    form = EclMatrixForm(request.POST, instance=EclMatrix.load())
    if not form.is_valid():
        return _page(request, matrix_form=form, status=400)
    ecl_matrix_update(actor=request.user, **{name: form.cleaned_data[name] for name in MATRIX_FIELDS})
    messages.success(request, _("Provision matrix saved: later runs use it; runs made keep theirs."))
    return redirect("exposure-ecl")


def _run_message(run: EclRun, *, new: bool) -> str:
    if not new:
        return _(
            "%(currency)s: run #%(run)s as of %(date)s already booked these figures; nothing posted again."
        ) % {"currency": run.currency, "run": run.pk, "date": run.as_of}
    values = {
        "currency": run.currency,
        "total": money_text(run.total, run.currency),
        "held": money_text(run.prior_allowance, run.currency),
        "change": money_text(abs(run.change), run.currency),
    }
    if run.change > 0:
        return _("%(currency)s: %(total)s required, %(held)s held: %(change)s charged.") % values
    if run.change < 0:
        return _("%(currency)s: %(total)s required, %(held)s held: %(change)s released.") % values
    return _("%(currency)s: %(total)s required and held: nothing to post.") % values


@require_POST
@staff_required(roles=ECL_ROLES, auditor_reads=False)
def ecl_post_button(request):
    form = EclPostForm(request.POST)
    target = reverse("exposure-ecl")
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["as_of"]))
        return redirect(target)
    day = form.cleaned_data["as_of"]
    target += "?" + urlencode({"as_of": day.isoformat()})
    started = timezone.now()
    try:
        runs = ecl_post(day, origin=EclRun.Origin.BUTTON, actor=request.user)
    except EclInputError as exc:
        messages.error(request, exc.message)
        return redirect(target)
    except (EclError, FxRatesMissing) as exc:
        messages.error(request, str(exc))
        return redirect(target)
    if not runs:
        messages.info(
            request, _("Nothing to post: no receivables and no allowance as of %(date)s.") % {"date": day}
        )
    for run in runs:
        messages.success(request, _run_message(run, new=run.created_at >= started))
    return redirect(target)
