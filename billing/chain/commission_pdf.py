"""The commission statement as a PDF, in the agent's language, printed like every other document."""

from billing.chain.commission import line_totals, settlements_of, statement_lines
from billing.chain.models import CommissionStatement
from billing.documents.pdf import render_pdf


def commission_context(statement: CommissionStatement) -> dict:
    """What the PDF and the pages show: the stored figures, the lines and the month's settlements."""
    lines = statement_lines(statement)
    rate = statement.rate
    return {
        "statement": statement,
        "agent": statement.agent,
        # The document is issued by whoever owes the commission: the agent's seller (render_pdf's header).
        "customer": statement.agent,
        "terms": getattr(statement.agent, "billing_terms", None),
        "lines": lines,
        "totals": line_totals(statement.lines),
        "settlements": list(settlements_of(statement)),
        "rate_percent": f"{rate * 100:.2f}".rstrip("0").rstrip(".") if rate is not None else "",
    }


def commission_statement_pdf(statement: CommissionStatement, *, language: str | None = None) -> bytes:
    """Print ``statement`` in ``language`` (the agent's own when None)."""
    return render_pdf(
        "documents/commission_statement.html",
        commission_context(statement),
        language=language or statement.language,
    )
