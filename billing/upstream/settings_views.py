"""The upstream settings page: reconciliation tolerances, the leakage alert threshold, the distribution
shift (货不对版) sensitivity, and the alert e-mails and signed webhook. Admin and finance change them,
auditors read, sales and support are refused."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.models import StaffRole
from accounts.permissions import staff_required
from billing.upstream.models import UpstreamSettings
from billing.upstream.settings_forms import UpstreamSettingsForm
from billing.upstream.settings_services import upstream_settings_update


@staff_required(roles=(StaffRole.ADMIN, StaffRole.FINANCE))
def upstream_settings(request):
    current = UpstreamSettings.load()
    form = UpstreamSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        secret = "" if data.pop("clear_secret") else (data.pop("webhook_secret") or None)
        data.pop("webhook_secret", None)
        upstream_settings_update(secret=secret, **data)
        messages.success(request, _("Upstream settings saved."))
        return redirect("upstream-settings")
    context = {
        "form": form,
        "has_secret": bool(current.webhook_secret),
        "can_edit": not request.user.is_read_only,
    }
    return render(request, "upstream/settings.html", context, status=400 if form.errors else 200)
