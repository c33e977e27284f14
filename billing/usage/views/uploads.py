"""Staff uploads of usage files: the form and list, and a detail page with a live progress bar."""

from django.contrib import messages
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from accounts.permissions import staff_required
from billing.usage.actions import usage_upload_create
from billing.usage.filters import UploadFilter
from billing.usage.forms import UsageUploadForm
from billing.usage.models import UsageUpload
from billing.usage.selectors import uploads_list
from billing.usage.views.common import USAGE_WRITE_ROLES
from common.listing import filtered_page

SHOWN_ERRORS = 50


@staff_required()
def upload_list(request):
    context = filtered_page(request, uploads_list(), UploadFilter)
    context["can_upload"] = request.user.staff_role in USAGE_WRITE_ROLES
    if context["can_upload"]:
        context["form"] = UsageUploadForm()
    return render(request, "dashboard/usage/uploads.html", context)


@csrf_exempt
@require_POST
@staff_required(roles=USAGE_WRITE_ROLES, auditor_reads=False)
def upload_create(request):
    # Stream every file to a temporary file on disk, whatever its size, never into memory. The handlers
    # must be set before the body is read, hence CSRF is checked afterwards (Django's documented way).
    request.upload_handlers = [TemporaryFileUploadHandler(request)]
    return _upload_create(request)


@csrf_protect
def _upload_create(request):
    form = UsageUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        context = filtered_page(request, uploads_list(), UploadFilter)
        context.update(can_upload=True, form=form)
        return render(request, "dashboard/usage/uploads.html", context, status=400)
    data = form.cleaned_data
    upload = usage_upload_create(
        source=data["source"], fmt=data["fmt"], file=data["file"], actor=request.user
    )
    messages.success(request, _("File received; it is processed in the background."))
    return redirect("staff-usage-upload", pk=upload.pk)


def _progress_context(upload: UsageUpload) -> dict:
    finished = upload.state in (UsageUpload.State.DONE, UsageUpload.State.FAILED)
    return {"upload": upload, "finished": finished, "errors": upload.errors[:SHOWN_ERRORS]}


@staff_required()
def upload_detail(request, pk: int):
    upload = get_object_or_404(uploads_list(), pk=pk)
    return render(request, "dashboard/usage/upload_detail.html", _progress_context(upload))


@staff_required()
def upload_progress(request, pk: int):
    """The progress partial htmx polls every second; once finished it renders without the trigger."""
    upload = get_object_or_404(uploads_list(), pk=pk)
    return render(request, "dashboard/usage/_upload_progress.html", _progress_context(upload))
