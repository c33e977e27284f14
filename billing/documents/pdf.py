"""PDF documents: invoices, credit notes, receipts, statements of account and usage statements.

Each is a Django template (templates/documents/) rendered in the document's own language and printed by
WeasyPrint with one print stylesheet. Chinese text uses the Source Han Sans SC subset shipped in
billing/documents/fonts (``make assets``; not under static/, as no browser needs them and collectstatic
would copy and compress 14 MB for nothing), so a PDF looks the same on any machine; characters the
subset lacks fall back to the system's Noto Sans CJK (Debian's fonts-noto-cjk).

The stylesheet and its fonts are loaded once per process: WeasyPrint registers @font-face fonts when a
stylesheet is built, and reading the CJK font for every document would cost more than the rendering.
"""

from __future__ import annotations

import functools
import logging
import threading
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.identity import payment_instructions, seller_identity
from billing.documents.line_prices import with_class_prices
from catalog.rating import AUDIO_SECOND, IMAGE

FONT_DIR = Path(__file__).resolve().parent / "fonts"
# (family, weight, file). Latin text comes from a 77 KB Latin-only cut of the same typeface, so English
# documents never embed (and WeasyPrint never subsets) the 3.6 MB CJK file: that halves their print time.
FONT_FACES = [
    ("Doc Sans", 400, FONT_DIR / "SourceHanSansSC-Regular-latin.otf"),
    ("Doc Sans", 700, FONT_DIR / "SourceHanSansSC-Bold-latin.otf"),
    ("Doc Sans SC", 400, FONT_DIR / "SourceHanSansSC-Regular-subset.otf"),
    ("Doc Sans SC", 700, FONT_DIR / "SourceHanSansSC-Bold-subset.otf"),
]
# WeasyPrint's font registration is process-global (fontconfig); keep the first build single-threaded.
_lock = threading.Lock()
# WeasyPrint logs every rendering step at INFO; a zip of 1,000 statements would drown the worker log.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


@functools.cache
def _weasy():
    # Imported lazily: WeasyPrint pulls in Pango and fonts, which web requests without PDFs never need.
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    faces = [
        {"family": family, "weight": weight, "uri": path.as_uri()}
        for family, weight, path in FONT_FACES
        if path.exists()
    ]
    css_text = render_to_string("documents/print.css", {"faces": faces})
    stylesheet = weasyprint.CSS(string=css_text, font_config=font_config)
    return weasyprint, font_config, stylesheet


def language_for(code: str | None) -> str:
    """The Django language a document's code maps to: zh, zh-hans, zh_Hans → zh-hans; anything else → en."""
    code = (code or "").lower().replace("_", "-")
    return "zh-hans" if code.startswith("zh") else "en"


def render_pdf(template: str, context: dict, *, language: str | None) -> bytes:
    """Render ``template`` in ``language`` and print it; returns the PDF's bytes.

    The header, bank details and footer are those of ``context["customer"]``'s seller
    (``accounts.identity``): a resale sub-distributor's customer never sees the operator.
    """
    with _lock:
        weasyprint, font_config, stylesheet = _weasy()
    lang = language_for(language)
    with translation.override(lang):
        html = render_to_string(
            template,
            {
                **context,
                "seller": seller_identity(context["customer"]),
                "lang": lang,
                "generated_at": timezone.localtime(),
            },
        )
    document = weasyprint.HTML(string=html, base_url=str(settings.BASE_DIR))
    return document.write_pdf(stylesheets=[stylesheet], font_config=font_config)


# Each document prints in its own language (the customer's when it was made) unless ``language`` asks for
# the other one (a download's ``?lang=``: billing.documents.language).


def invoice_pdf(invoice, *, language: str | None = None) -> bytes:
    lines = with_class_prices(invoice.lines.select_related("ai_model").order_by("position", "id"))
    terms = getattr(invoice.customer, "billing_terms", None)
    context = {
        "invoice": invoice,
        "lines": lines,
        "customer": invoice.customer,
        "terms": terms,
        # A void or draft invoice asks for no payment; a settled one has nothing left to pay.
        "payment": payment_instructions(invoice.customer) if invoice.amount_due > 0 else None,
    }
    return render_pdf("documents/invoice.html", context, language=language or invoice.language)


def credit_note_pdf(note, *, language: str | None = None) -> bytes:
    terms = getattr(note.customer, "billing_terms", None)
    return render_pdf(
        "documents/credit_note.html",
        {"note": note, "lines": list(note.lines.all()), "customer": note.customer, "terms": terms},
        language=language or note.language,
    )


def receipt_pdf(receipt, *, language: str | None = None) -> bytes:
    source = receipt.payment or receipt.card_topup or receipt.bank_transfer
    return render_pdf(
        "documents/receipt.html",
        {"receipt": receipt, "customer": receipt.customer, "source": source},
        language=language or receipt.language,
    )


def statement_pdf(statement, *, language: str | None = None) -> bytes:
    """A statement of account (``billing.statements.build.Statement``) as a PDF."""
    # Always, when the seller has bank details: what is owed, or how a prepaid customer tops up.
    context = {
        "statement": statement,
        "customer": statement.customer,
        "payment": payment_instructions(statement.customer),
    }
    return render_pdf("documents/statement.html", context, language=language or statement.language)


def _usage_line(line: dict) -> dict:
    """A usage statement line as stored by period close: model, requests, tokens per class, amount. The
    total counts tokens only: images and audio milliseconds are counts of other units."""
    tokens = line.get("tokens") or {}
    if isinstance(tokens, dict):
        total = sum(int(n) for cls, n in tokens.items() if cls not in (IMAGE, AUDIO_SECOND))
    else:
        total = int(tokens or 0)
    return {
        "model": line.get("model") or "",
        "requests": line.get("requests"),
        "tokens": total,
        "by_class": tokens if isinstance(tokens, dict) else {},
        "amount": Decimal(str(line.get("amount") or "0")),
    }


def usage_statement_pdf(usage_statement, *, language: str | None = None) -> bytes:
    lines = [_usage_line(line) for line in usage_statement.lines or []]
    return render_pdf(
        "documents/usage_statement.html",
        {"usage_statement": usage_statement, "lines": lines, "customer": usage_statement.customer},
        language=language or usage_statement.customer.language,
    )


def warm() -> int:
    """Load WeasyPrint, the stylesheet and the CJK font now (a worker does it before its first real job)."""
    with _lock:
        weasyprint, font_config, stylesheet = _weasy()
    html = weasyprint.HTML(string="<p>Warm 预热 <b>粗体</b></p>")
    return len(html.write_pdf(stylesheets=[stylesheet], font_config=font_config))
