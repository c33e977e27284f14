"""Checks on files customers upload."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

LOGO_MAX_BYTES = 512 * 1024
LOGO_MAX_PIXELS = 2000
# Raster formats only: an SVG may reference other files or URLs, which the PDF printer would fetch.
LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}


def validate_logo(upload) -> None:
    """Refuse a logo that is not a PNG or JPEG (by its content, not its name), too large, or too big."""
    from PIL import Image, UnidentifiedImageError

    if getattr(upload, "_committed", False):
        # Already stored, so checked when it was uploaded: saving the other fields never re-reads it.
        return
    if upload.size > LOGO_MAX_BYTES:
        raise ValidationError(_("The logo is larger than 512 KB."), code="logo_size")
    position = upload.tell() if hasattr(upload, "tell") else 0
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            kind, (width, height) = image.format, image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ValidationError(_("The logo must be a PNG or JPEG image."), code="logo_type") from error
    finally:
        upload.seek(position)
    if kind not in LOGO_FORMATS:
        raise ValidationError(_("The logo must be a PNG or JPEG image."), code="logo_type")
    if max(width, height) > LOGO_MAX_PIXELS:
        raise ValidationError(_("The logo is larger than 2000 × 2000 pixels."), code="logo_pixels")
