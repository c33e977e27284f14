"""The invoice PDF's price breakdown breaks its headers between words only, with a price adjustment row.

The adjustment's reason is the longest text in the breakdown; it once widened its two columns so far
that "Unit price per 1M tokens" ran over three lines and the Chinese "单价" split into "单/价".
Words are read with ``pdftotext -bbox``: a header split mid-word shows up as its fragments.
"""

import pytest

from billing.documents.pdf import invoice_pdf
from tests.billing.documents.test_document_layout import first_page_words, keep, overlapping
from tests.billing.invoicing.test_line_price_check import batch_invoice  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def header_line(words, first: str, count: int) -> list[tuple[str, float]]:
    """The breakdown header's ``count`` words from ``first`` on (in reading order), with their tops."""
    tops = [(text, y0) for text, _x0, y0, _x1, _y1 in words]
    start = next(i for i, (text, _y) in enumerate(tops) if text == first)
    return tops[start : start + count]


def varied(invoice):
    """The longest reason a line gives: batch prices and prices that changed in the period."""
    line = invoice.lines.get()
    line.details["prices_varied"] = True
    line.save(update_fields=["details"])
    return invoice


def test_the_english_breakdown_headers_stay_on_one_line(batch_invoice, tmp_path):  # noqa: F811
    varied(batch_invoice)
    words = first_page_words(keep(invoice_pdf(batch_invoice), "invoice-price-adjustment-en", tmp_path))
    assert overlapping(words) == []
    # Reading order puts a wrapped header's second line after its first: "tokens Tokens tokens".
    header = header_line(words, "Batch", 5)
    assert [t for t, _y in header] == ["Batch", "price", "per", "1M", "tokens"], header
    unit = next(i for i, w in enumerate(words) if w[0] == "Batch") - 5
    assert [w[0] for w in words[unit : unit + 5]] == ["Unit", "price", "per", "1M", "tokens"]
    tops = {round(y) for _t, y in header} | {round(w[2]) for w in words[unit : unit + 5]}
    assert len(tops) == 1, tops


def test_the_chinese_breakdown_headers_keep_their_words_whole(batch_invoice, tmp_path):  # noqa: F811
    varied(batch_invoice).language = "zh-hans"
    batch_invoice.save(update_fields=["language"])
    words = first_page_words(keep(invoice_pdf(batch_invoice), "invoice-price-adjustment-zh", tmp_path))
    assert overlapping(words) == []
    header = header_line(words, "每百万", 6)
    assert [t for t, _y in header] == ["每百万", "Token", "单价", "每百万", "Token", "批量单价"], header
    assert {round(y) for _t, y in header} == {round(header[0][1])}, header
