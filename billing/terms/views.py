"""Staff page for a customer's billing terms: sales, finance and admin edit; other staff read."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.models import StaffRole
from accounts.permissions import staff_required
from accounts.selectors import customer_for_user
from billing.terms.forms import BillingTermsForm
from billing.terms.models import BillingTerms, CreditLimitBreach
from billing.terms.selectors import customer_exposure
from billing.terms.services import billing_terms_update

EDITING_ROLES = (StaffRole.SALES, StaffRole.FINANCE, StaffRole.ADMIN)


@staff_required()
def staff_terms(request, pk: int):
    customer = customer_for_user(request.user, pk)
    if customer is None:
        raise Http404
    can_edit = request.user.staff_role in EDITING_ROLES
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    terms = BillingTerms.objects.filter(customer=customer).first() or BillingTerms(customer=customer)
    form = BillingTermsForm(request.POST or None, instance=terms, customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            billing_terms_update(customer=customer, values=form.cleaned_data, actor=request.user)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Billing terms of %(name)s saved.") % {"name": customer.name})
            return redirect("staff-customer-terms", pk=customer.pk)
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    context = {
        "customer": customer,
        "terms": terms,
        "form": form,
        "can_edit": can_edit,
        "changes": terms.changes.select_related("actor")[:30] if terms.pk else [],
        "breaches": CreditLimitBreach.objects.filter(customer=customer)[:10],
    }
    if terms.pk and terms.is_credit:
        exposure = customer_exposure(customer=customer, currency=terms.currency)
        context.update(exposure=exposure, headroom=terms.credit_limit - exposure)
    return render(request, "terms/edit.html", context)
