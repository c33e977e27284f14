"""The staff dashboard's navigation: one place where each section registers its entries.

An entry shows only to staff whose role is listed (auditors see every entry, read-only).
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import StaffRole

ALL = tuple(StaffRole.values)
_FINANCE = (StaffRole.FINANCE, StaffRole.ADMIN)
# Receivables and customer risk are sales' business too: they manage the customers who owe.
_CUSTOMER_SIDE = (*_FINANCE, StaffRole.SALES)
_CAPITAL = _("Working capital")


@dataclass(frozen=True)
class NavEntry:
    section: str
    label: str
    url_name: str
    icon: str
    roles: tuple[str, ...] = ALL


STAFF_NAVIGATION: list[NavEntry] = [
    NavEntry(_("Overview"), _("Dashboard"), "dashboard", "speedometer2"),
    NavEntry(_("Customers"), _("Customers"), "staff-customer-list", "people"),
    NavEntry(_("Catalog"), _("Models"), "catalog-model-list", "cpu"),
    NavEntry(_("Catalog"), _("Price books"), "catalog-book-list", "journal-richtext"),
    NavEntry(_("Catalog"), _("Sell plans"), "catalog-plan-list", "tags"),
    NavEntry(_("Catalog"), _("Customer prices"), "catalog-customer-prices", "person-lines-fill"),
    NavEntry(_("Catalog"), _("Price calculator"), "catalog-calculator", "calculator"),
    NavEntry(_("Catalog"), _("Price imports"), "catalog-import-list", "upload"),
    NavEntry(
        _("Catalog"),
        _("Provider mappings"),
        "catalog-provider-mappings",
        "signpost-split",
        (StaffRole.ADMIN, StaffRole.SALES, StaffRole.FINANCE, StaffRole.AUDITOR),
    ),
    NavEntry(_("Catalog"), _("Price alerts"), "catalog-alerts", "exclamation-triangle"),
    NavEntry(_("Catalog"), _("Exchange rates"), "catalog-fx", "currency-exchange"),
    NavEntry(_("Catalog"), _("Packs and grants"), "catalog-allowances", "box-seam"),
    NavEntry(_("Usage"), _("Usage overview"), "staff-usage", "graph-up"),
    NavEntry(_("Usage"), pgettext_lazy("request log", "Requests"), "staff-request-log", "list-ul"),
    NavEntry(_("Usage"), _("Margin per hop"), "staff-chain-report", "diagram-3"),
    NavEntry(_("Usage"), _("Unrated events"), "staff-usage-unrated", "question-circle"),
    NavEntry(_("Usage"), _("Usage uploads"), "staff-usage-uploads", "cloud-upload"),
    NavEntry(_("Usage"), _("Gateway sources"), "staff-gateway-sources", "hdd-network"),
    NavEntry(_("Upstream"), _("Vendor contracts"), "upstream-contract-list", "file-earmark-text", _FINANCE),
    NavEntry(_("Upstream"), _("Channels"), "upstream-channel-list", "diagram-2", _FINANCE),
    NavEntry(_("Upstream"), _("Unmapped channels"), "upstream-unmapped-list", "question-diamond", _FINANCE),
    NavEntry(_("Upstream"), _("Upstream ledger"), "upstream-ledger", "battery-half", _FINANCE),
    NavEntry(_("Upstream"), _("Vendor invoices"), "upstream-bills", "receipt-cutoff", _FINANCE),
    NavEntry(_("Upstream"), _("Vendor usage imports"), "upstream-import-list", "cloud-arrow-down", _FINANCE),
    NavEntry(_("Upstream"), _("Reconciliation"), "upstream-recon-runs", "arrow-left-right", _FINANCE),
    NavEntry(_("Upstream"), _("Model mismatch (货不对版)"), "upstream-mismatch-list", "incognito", _FINANCE),
    NavEntry(_("Upstream"), _("Gross margin"), "staff-upstream-margin", "bar-chart-line", _FINANCE),
    NavEntry(_("Upstream"), _("Upstream settings"), "upstream-settings", "sliders", _FINANCE),
    NavEntry(_("Finance"), _("Invoices"), "staff-invoice-list", "receipt"),
    NavEntry(_("Finance"), _("Payments"), "staff-payment-list", "cash-coin"),
    NavEntry(_("Finance"), _("Credit notes"), "staff-credit-note-list", "file-earmark-minus"),
    NavEntry(_("Finance"), _("Service charges"), "staff-service-charges", "briefcase", _FINANCE),
    NavEntry(_("Finance"), _("Period closes"), "staff-period-closes", "calendar-check", _FINANCE),
    NavEntry(_("Finance"), _("Journal"), "staff-journal", "journal-text", _FINANCE),
    NavEntry(
        _("Finance"), _("Manual journal entries"), "staff-manual-journal-list", "pencil-square", _FINANCE
    ),
    NavEntry(_("Finance"), _("Chart of accounts"), "staff-ledger-accounts", "list-columns", _FINANCE),
    NavEntry(_("Finance"), _("Trial balance"), "staff-trial-balance", "clipboard-data", _FINANCE),
    NavEntry(_("Finance"), _("Agency commissions"), "staff-commission-list", "percent", _FINANCE),
    NavEntry(_("Finance"), _("Wallets"), "staff-wallet-list", "wallet2"),
    NavEntry(_("Finance"), _("Bank transfers"), "staff-bank-transfer-list", "bank", _FINANCE),
    NavEntry(_("Finance"), _("Card top-ups"), "staff-card-topup-list", "credit-card", _FINANCE),
    NavEntry(_("Finance"), _("Redemption codes"), "staff-redemption-batch-list", "gift", _FINANCE),
    NavEntry(_("Finance"), _("Corrections"), "staff-correction-list", "arrow-counterclockwise", _FINANCE),
    NavEntry(
        _("Finance"), _("Statements"), "staff-statement", "file-earmark-text", (*_FINANCE, StaffRole.SUPPORT)
    ),
    NavEntry(
        _("Finance"),
        _("Usage statements"),
        "staff-usage-statement-list",
        "file-earmark-bar-graph",
        (*_FINANCE, StaffRole.SUPPORT),
    ),
    NavEntry(
        _("Finance"), _("Statement exports"), "staff-statement-export-list", "file-earmark-zip", _FINANCE
    ),
    NavEntry(_("Finance"), _("Accountant exports"), "staff-accountant-exports", "filetype-csv", _FINANCE),
    NavEntry(_("Finance"), _("Dunning"), "staff-dunning-policies", "envelope-exclamation", _FINANCE),
    NavEntry(_("Finance"), _("Write-offs"), "writeoff-list", "x-octagon", _FINANCE),
    NavEntry(_("Finance"), _("Opening balances"), "opening-import", "box-arrow-in-down", _FINANCE),
    NavEntry(_CAPITAL, _("Receivables aging"), "exposure-aging", "hourglass-split", _CUSTOMER_SIDE),
    NavEntry(_CAPITAL, _("Customer risk"), "exposure-risk", "shield-exclamation", _CUSTOMER_SIDE),
    NavEntry(_CAPITAL, _("Expected credit loss"), "exposure-ecl", "shield-x", _FINANCE),
    NavEntry(_CAPITAL, _("Forecast"), "exposure-forecast", "graph-up-arrow", _FINANCE),
]


def entries_for(user) -> list[NavEntry]:
    return [e for e in STAFF_NAVIGATION if user.staff_role in e.roles or user.is_read_only]
