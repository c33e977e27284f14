"""Commission statement pages: staff list, detail and settlement; the agent's own in the portal.

Roles: statements are read by finance and admin (auditors read too) and settled or issued by finance and
admin only. In the portal an agency sub-distributor's users see their own agent's statements and nobody
else's: another agent's statement is answered 404 (ids cannot be probed), and an end customer, a resale or
direct sub-distributor gets 403 (``seller_member_required``). Settling is for whoever owes the commission:
the operator's finance and admin for the operator's book; for a resale sub-distributor's book, that
reseller's owner and billing members in its portal (its own agents' statements), never the operator's staff.
"""

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Customer, StaffRole
from accounts.permissions import SELLER_MANAGERS, seller_member_required, staff_required
from billing.chain.commission import commission_statements_issue, payable_outstanding
from billing.chain.commission_filters import CommissionFilter, PortalCommissionFilter
from billing.chain.commission_forms import IssueForm, SettleForm
from billing.chain.commission_pdf import commission_context, commission_statement_pdf
from billing.chain.commission_settle import commission_settle, invoices_open_due
from billing.chain.models import CommissionStatement
from billing.documents.language import lang_checked
from billing.documents.pdf import language_for
from common.forms import form_errors_add
from common.listing import filtered_page
from common.responses import pdf_response

FINANCE_ROLES = (StaffRole.ADMIN, StaffRole.FINANCE)


def _statements():
    return CommissionStatement.objects.select_related("agent", "book")


def _pdf_response(request, statement: CommissionStatement) -> HttpResponse:
    language = request.GET.get("lang") or statement.language
    suffix = "zh" if language_for(language) == "zh-hans" else "en"
    data = commission_statement_pdf(statement, language=language)
    return pdf_response(data, f"{statement.filename}-{suffix}.pdf")


@staff_required(roles=FINANCE_ROLES)
def staff_commission_list(request):
    context = filtered_page(request, _statements(), CommissionFilter)
    context["issue_form"] = IssueForm()
    context["can_write"] = not request.user.is_read_only
    return render(request, "commission/staff_list.html", context)


@require_POST
@staff_required(roles=FINANCE_ROLES)
def staff_commission_issue(request):
    form = IssueForm(request.POST)
    if not form.is_valid():
        context = filtered_page(request, _statements(), CommissionFilter)
        context.update(issue_form=form, can_write=True)
        return render(request, "commission/staff_list.html", context, status=400)
    statements = commission_statements_issue(form.cleaned_data["period"])
    messages.success(
        request,
        _("%(count)s commission statements are up to date for %(period)s.")
        % {"count": len(statements), "period": form.cleaned_data["period"].label},
    )
    return redirect("staff-commission-list")


@staff_required(roles=FINANCE_ROLES)
def staff_commission_detail(request, pk: int):
    statement = get_object_or_404(_statements(), pk=pk)
    context = _detail_context(statement)
    # The operator's finance settles only what the operator's book owes; a reseller settles its own agents.
    if not request.user.is_read_only and statement.book_id is None:
        context["settle_form"] = _settle_form(context["outstanding"])
    return render(request, "commission/staff_detail.html", context)


def _settle_form(outstanding) -> SettleForm:
    return SettleForm(initial={"amount": outstanding, "idempotency_key": uuid.uuid4().hex})


def _detail_context(statement: CommissionStatement) -> dict:
    agent: Customer = statement.agent
    return {
        **commission_context(statement),
        "outstanding": payable_outstanding(agent, statement.currency),
        "invoices_due": invoices_open_due(agent, statement.currency),
    }


def _settle_post(request, statement: CommissionStatement, *, done: str, template: str):
    """Record the settlement posted for ``statement`` (``commission_settle`` checks who may), then go to
    the ``done`` page; the form again with its errors when refused."""
    form = SettleForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            commission_settle(
                agent=statement.agent,
                currency=statement.currency,
                amount=data["amount"],
                method=data["method"],
                settled_on=data["settled_on"],
                reference=data["reference"],
                note=data["note"],
                actor=request.user,
                idempotency_key=data["idempotency_key"],
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("The settlement is recorded; the statement shows it once re-issued."))
            return redirect(done, pk=statement.pk)
    context = {**_detail_context(statement), "settle_form": form}
    return render(request, template, context, status=400)


@require_POST
@staff_required(roles=FINANCE_ROLES, auditor_reads=False)
def staff_commission_settle(request, pk: int):
    statement = get_object_or_404(_statements().filter(book=None), pk=pk)
    return _settle_post(
        request, statement, done="staff-commission-detail", template="commission/staff_detail.html"
    )


@staff_required(roles=FINANCE_ROLES)
@lang_checked
def staff_commission_pdf(request, pk: int):
    return _pdf_response(request, get_object_or_404(_statements(), pk=pk))


def _portal_statements(request):
    return _statements().filter(agent=request.seller)


@seller_member_required(modes=[Customer.ChainMode.AGENCY])
def portal_commission_list(request):
    context = filtered_page(request, _portal_statements(request), PortalCommissionFilter)
    context["outstanding"] = [
        (currency, payable_outstanding(request.seller, currency))
        for currency in _portal_statements(request)
        .order_by("currency")
        .values_list("currency", flat=True)
        .distinct()
    ]
    return render(request, "commission/portal_list.html", context)


@seller_member_required(modes=[Customer.ChainMode.AGENCY])
def portal_commission_detail(request, pk: int):
    statement = get_object_or_404(_portal_statements(request), pk=pk)
    return render(request, "commission/portal_detail.html", commission_context(statement))


@seller_member_required(modes=[Customer.ChainMode.AGENCY])
@lang_checked
def portal_commission_pdf(request, pk: int):
    return _pdf_response(request, get_object_or_404(_portal_statements(request), pk=pk))


# A resale sub-distributor's commission statements of the agents it sells through (its own book owes
# them): every member reads; its owner and billing members settle. Another book's statement is 404.


def _book_statements(request):
    return _statements().filter(book=request.seller)


@seller_member_required(modes=[Customer.ChainMode.RESALE])
def portal_agent_commission_list(request):
    context = filtered_page(request, _book_statements(request), CommissionFilter)
    return render(request, "commission/portal_agent_list.html", context)


@seller_member_required(modes=[Customer.ChainMode.RESALE])
def portal_agent_commission_detail(request, pk: int):
    statement = get_object_or_404(_book_statements(request), pk=pk)
    context = _detail_context(statement)
    if request.user.membership.role in SELLER_MANAGERS:
        context["settle_form"] = _settle_form(context["outstanding"])
    return render(request, "commission/portal_agent_detail.html", context)


@require_POST
@seller_member_required(SELLER_MANAGERS, modes=[Customer.ChainMode.RESALE])
def portal_agent_commission_settle(request, pk: int):
    statement = get_object_or_404(_book_statements(request), pk=pk)
    return _settle_post(
        request,
        statement,
        done="portal-agent-commission-detail",
        template="commission/portal_agent_detail.html",
    )


@seller_member_required(modes=[Customer.ChainMode.RESALE])
@lang_checked
def portal_agent_commission_pdf(request, pk: int):
    return _pdf_response(request, get_object_or_404(_book_statements(request), pk=pk))
