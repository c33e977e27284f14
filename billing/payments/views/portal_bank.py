"""The portal's bank-transfer page: where to pay, the notice form (owners and billing members) and the
organisation's transfers with their status; its own slips can be opened again."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.identity import payment_instructions, seller_identity
from accounts.permissions import customer_user_required
from accounts.selectors import home_customer
from billing.payments.portal_notify import bank_transfer_notify, customer_bank_transfers, may_notify
from billing.payments.portal_notify_forms import BankTransferNoticeForm
from billing.terms.selectors import customer_currency
from common.forms import form_errors_add

PAGE_SIZE = 20


@customer_user_required
def portal_bank_transfers(request):
    customer = home_customer(request.user)
    currency = customer_currency(customer)
    form = BankTransferNoticeForm(request.POST or None, request.FILES or None, currency=currency)
    if request.method == "POST":
        if not may_notify(request.user):
            raise PermissionDenied
        if form.is_valid():
            try:
                transfer = bank_transfer_notify(
                    user=request.user, site=request.build_absolute_uri("/"), **form.cleaned_data
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(
                    request,
                    _("Transfer %(reference)s notified. We credit your wallet once finance has matched it.")
                    % {"reference": transfer.reference},
                )
                return redirect("portal-bank-transfers")
    instructions = payment_instructions(customer)
    context = {
        "customer": customer,
        "currency": currency,
        "instructions": instructions,
        # Whom to ask when the seller published no bank details.
        "seller": None if instructions else seller_identity(customer),
        "form": form,
        "may_notify": may_notify(request.user),
        "page_obj": Paginator(customer_bank_transfers(customer), PAGE_SIZE).get_page(request.GET.get("page")),
    }
    return render(request, "portal/payments/bank_transfers.html", context, status=400 if form.errors else 200)


@customer_user_required
def portal_bank_transfer_attachment(request, pk: int):
    # Served through this view, not MEDIA_URL: only the organisation's own users read its slips.
    transfer = get_object_or_404(customer_bank_transfers(home_customer(request.user)), pk=pk)
    if not transfer.attachment:
        raise Http404
    return FileResponse(
        transfer.attachment.open("rb"), as_attachment=False, filename=transfer.attachment.name
    )
