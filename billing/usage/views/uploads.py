"""Staff uploads of usage files: the form and list, and a detail page with a live progress bar."""

from django.contrib import messages
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from accounts.permissions import staff_required
from billing.usage.actions import usage_upload_create
from billing.usage.filters import UploadFilter
from billing.usage.forms import UsageUploadForm
from billing.usage.models import UsageUpload
from billing.usage.selectors import uploads_list
from billing.usage.upload_queue import Resumed, usage_upload_resume
from billing.usage.views.common import USAGE_WRITE_ROLES
from common.listing import filtered_page

SHOWN_ERRORS = 50

UNQUEUED_MESSAGE = gettext_lazy(
    "File received, but the task queue is unreachable, so its processing has not started. It starts by "
    "itself within minutes of the queue's return; you can also press Resume then."
)


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
    upload.refresh_from_db(fields=["state"])
    if upload.state == UsageUpload.State.UNQUEUED:
        messages.warning(request, UNQUEUED_MESSAGE)
    else:
        messages.success(request, _("File received; it is processed in the background."))
    return redirect("staff-usage-upload", pk=upload.pk)


@require_POST
@staff_required(roles=USAGE_WRITE_ROLES, auditor_reads=False)
def upload_resume(request, pk: int):
    """Queue a stalled or not-queued upload again; it goes on from its last saved chunk."""
    upload = get_object_or_404(uploads_list(), pk=pk)
    outcome = usage_upload_resume(upload=upload)
    if outcome == Resumed.QUEUED:
        messages.success(request, _("Upload queued again; it goes on from where it stopped."))
    elif outcome == Resumed.UNREACHABLE:
        messages.error(
            request,
            _(
                "The task queue is unreachable, so the upload could not be queued. It is resumed by itself "
                "within minutes of the queue's return."
            ),
        )
    else:
        messages.info(request, _("This upload is not stalled: there is nothing to resume."))
    return redirect("staff-usage-upload", pk=upload.pk)


def _progress_context(request, upload: UsageUpload) -> dict:
    finished = upload.state in (UsageUpload.State.DONE, UsageUpload.State.FAILED)
    return {
        "upload": upload,
        "finished": finished,
        "errors": upload.errors[:SHOWN_ERRORS],
        "can_resume": request.user.staff_role in USAGE_WRITE_ROLES,
    }


@staff_required()
def upload_detail(request, pk: int):
    upload = get_object_or_404(uploads_list(), pk=pk)
    return render(request, "dashboard/usage/upload_detail.html", _progress_context(request, upload))


@staff_required()
def upload_progress(request, pk: int):
    """The progress partial htmx polls every second; once finished it renders without the trigger."""
    upload = get_object_or_404(uploads_list(), pk=pk)
    return render(request, "dashboard/usage/_upload_progress.html", _progress_context(request, upload))
