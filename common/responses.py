"""HTTP responses the apps' views share."""

from django.http import HttpResponse


def pdf_response(content: bytes, filename: str, *, download: bool = True) -> HttpResponse:
    """A rendered PDF, as an attachment to save or (``download=False``) shown in the browser."""
    response = HttpResponse(content, content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response
