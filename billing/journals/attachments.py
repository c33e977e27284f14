"""What may be attached to a manual journal entry: a few document types, checked by their bytes."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENT_MAX_FILES = 5
# By extension and by the first bytes: the extension is what the uploader called the file, the signature
# is what it is. Spreadsheets (XLSX) are ZIP containers.
ATTACHMENT_SIGNATURES = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "xlsx": (b"PK\x03\x04",),
}


def attachments_check(uploads: list) -> None:
    """Refuse too many files, a file too large, or one that is not really a PDF, PNG, JPEG or XLSX."""
    if len(uploads) > ATTACHMENT_MAX_FILES:
        message = _("Attach at most %(count)s files.") % {"count": ATTACHMENT_MAX_FILES}
        raise ValidationError({"attachments": message})
    errors = []
    for upload in uploads:
        if upload.size > ATTACHMENT_MAX_BYTES:
            errors.append(
                _("%(name)s is larger than %(mb)s MB.")
                % {"name": upload.name, "mb": ATTACHMENT_MAX_BYTES // (1024 * 1024)}
            )
            continue
        extension = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
        signatures = ATTACHMENT_SIGNATURES.get(extension)
        upload.seek(0)
        head = upload.read(16)
        upload.seek(0)
        if signatures is None or not head.startswith(signatures):
            errors.append(_("%(name)s is not a PDF, PNG, JPEG or XLSX file.") % {"name": upload.name})
    if errors:
        raise ValidationError({"attachments": errors})
