"""The one way the product writes CSV, so no cell can start a spreadsheet formula.

Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (some also
after a leading tab or carriage return) as a formula: a model named ``=HYPERLINK("http://evil.example","m")``
would become a live link in finance's spreadsheet. As OWASP recommends, such *text* cells get a leading
single quote, which spreadsheets show as text. Numbers stay numbers: a ``Decimal``, ``int`` or ``float`` is
written as is (a ``Decimal`` exactly, without exponent), so the amount ``Decimal("-12.50")`` reads
``-12.50``, while the string ``"-12.50"`` typed into a memo is text and is quoted.

Writers yield one line per row (``csv_lines``, ``CsvWriter.writerow``) so views can stream large exports;
``csv_response`` is the one place a CSV response is built.

Excel: bodies are UTF-8 without a byte-order mark, which every program reading CSV expects (Python's csv,
pandas, databases' COPY, the tests). Excel on Windows, though, reads a CSV without a BOM in the system's
legacy code page and garbles Chinese names. So any CSV download also comes with a BOM when its URL has
``?bom=1``: ``ExcelBomMiddleware`` adds the three bytes to whole and streamed CSV responses alike, whichever
view built them, and pages offer that link as "Excel (UTF-8 BOM)" beside their CSV button. Opt-in rather
than the default, because a BOM becomes part of the first header name for a consumer reading plain UTF-8.

Date/times in a CSV are those the screen shows: in the active time zone, ISO 8601 with the offset
(``csv_cell`` converts an aware datetime with ``localtime``), so an expiry reads as the page does.
"""

import csv
import datetime as dt
import itertools
import unicodedata
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "|")
# Bodies are UTF-8 (DEFAULT_CHARSET); the bare type is what the exports have always declared.
CONTENT_TYPE = "text/csv"
BOM = "\ufeff".encode()
# ``?bom=1`` (or true/yes) asks for the byte-order mark Excel needs to read UTF-8.
BOM_PARAMETER = "bom"
BOM_YES = {"1", "true", "yes"}


def csv_cell(value) -> str:
    """Return ``value`` as the text of one cell: numbers exact, text neutralised, None empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal) and value.is_finite():
        return format(value, "f")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dt.datetime):
        return _local_iso(value)
    text = str(value)
    return f"'{text}" if _starts_a_formula(text) else text


def _local_iso(value: dt.datetime) -> str:
    """An aware datetime in the active time zone (the one pages show), ISO 8601 with its offset."""
    if timezone.is_naive(value):
        return value.isoformat()
    return timezone.localtime(value).isoformat()


def _starts_a_formula(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula.

    Some spreadsheets skip leading spaces, and CJK input methods type the full-width ``＝`` and ``＋``
    that they may fold to ``=`` and ``+`` (NFKC does the same); ``|`` starts a DDE call in older Excel.
    """
    if text.startswith(FORMULA_PREFIXES):
        return True
    folded = unicodedata.normalize("NFKC", text[:8]).lstrip(" \u00a0\u3000")
    return folded.startswith(FORMULA_PREFIXES)


class _Echo:
    """A file whose ``write`` hands the line back, so each row can be yielded as it is written."""

    def write(self, value: str) -> str:
        return value


class CsvWriter:
    """``csv.writer`` whose ``writerow`` neutralises every cell and returns the written line."""

    def __init__(self):
        self._writer = csv.writer(_Echo())

    def writerow(self, values: Iterable) -> str:
        return self._writer.writerow([csv_cell(value) for value in values])


def csv_lines(rows: Iterable[Iterable]) -> Iterator[str]:
    """Yield the CSV line of each row in ``rows`` (header included), lazily."""
    writer = CsvWriter()
    for row in rows:
        yield writer.writerow(row)


def csv_text(rows: Iterable[Iterable]) -> str:
    return "".join(csv_lines(rows))


def csv_response(content: str | Iterable[str], filename: str) -> HttpResponse | StreamingHttpResponse:
    """A CSV download named ``filename``: ``content`` whole (from ``csv_text``) or streamed line by line."""
    if isinstance(content, str):
        response = HttpResponse(content, content_type=CONTENT_TYPE)
    else:
        response = StreamingHttpResponse(content, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


def wants_bom(request) -> bool:
    return request.GET.get(BOM_PARAMETER, "").strip().lower() in BOM_YES


def with_bom(response: HttpResponse | StreamingHttpResponse) -> HttpResponse | StreamingHttpResponse:
    """``response`` (a CSV) with the UTF-8 byte-order mark first, streamed or whole."""
    if response.streaming:
        response.streaming_content = itertools.chain([BOM], response.streaming_content)
        return response
    response.content = BOM + response.content
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))
    return response


class ExcelBomMiddleware:
    """Every CSV answer to a request with ``?bom=1`` starts with the UTF-8 byte-order mark (see above)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        content_type = response.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if content_type == CONTENT_TYPE and response.status_code == 200 and wants_bom(request):
            return with_bom(response)
        return response
