"""Filters of the ledger pages (staff and a resale sub-distributor's portal) and the trial balance's date."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.ledger.models import AccountKind, JournalEntry, JournalTransaction, LedgerAccount
from common.filters import StyledFilterSet

# The id of the page's list of known kinds with their labels (``{% kinds_datalist %}``): a reader picks
# "Bank transfer top-up" rather than guessing "wallet.topup.bank".
KINDS_DATALIST = "transaction-kinds"


class JournalEntryFilter(StyledFilterSet):
    """The journal browser's filters; ``customer`` keeps whole transactions that touch the customer."""

    account = django_filters.CharFilter(label=_("Account code"), method="filter_account")
    account_kind = django_filters.ChoiceFilter(
        label=_("Account kind"), field_name="account__kind", choices=AccountKind.choices
    )
    customer = django_filters.ModelChoiceFilter(
        label=_("Customer"), queryset=Customer.objects.order_by("name"), method="filter_customer"
    )
    kind = django_filters.CharFilter(
        label=_("Transaction kind"),
        field_name="transaction__kind",
        lookup_expr="startswith",
        widget=forms.TextInput(attrs={"list": KINDS_DATALIST}),
    )
    currency = django_filters.CharFilter(label=_("Currency"), field_name="currency", lookup_expr="iexact")
    date_from = django_filters.DateFilter(
        label=_("From"), field_name="transaction__effective_date", lookup_expr="gte"
    )
    date_to = django_filters.DateFilter(
        label=_("To"), field_name="transaction__effective_date", lookup_expr="lte"
    )
    o = django_filters.OrderingFilter(
        fields=(
            ("transaction__effective_date", "date"),
            ("transaction_id", "transaction"),
            ("transaction__kind", "kind"),
            ("account__code", "account"),
            ("amount", "amount"),
        ),
    )

    class Meta:
        model = JournalEntry
        fields = ["account", "account_kind", "customer", "kind", "currency", "date_from", "date_to"]

    def filter_account(self, queryset, name, value):
        # A full code (as linked from the chart of accounts) means exactly that account.
        if LedgerAccount.objects.filter(code=value).exists():
            return queryset.filter(account__code=value)
        return queryset.filter(Q(account__code__icontains=value))

    def filter_customer(self, queryset, name, value):
        touching = JournalTransaction.objects.filter(entries__account__customer=value).values("pk")
        return queryset.filter(transaction__in=touching)


class LedgerAccountFilter(StyledFilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=AccountKind.choices)
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    q = django_filters.CharFilter(label=_("Search"), method="search")
    o = django_filters.OrderingFilter(
        fields=(("code", "code"), ("kind", "kind"), ("currency", "currency"), ("balance", "balance"))
    )

    class Meta:
        model = LedgerAccount
        fields = ["kind", "currency", "q"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(code__icontains=value) | Q(customer__name__icontains=value) | Q(vendor__name__icontains=value)
        )


class PortalJournalFilter(StyledFilterSet):
    """A sub-distributor's journal: by date, transaction kind and one of its own accounts.

    The account choices are the book's only (``request.seller``'s, set by ``seller_member_required``), so
    no choice can name another book's account.
    """

    date_from = django_filters.DateFilter(
        label=_("From"), field_name="transaction__effective_date", lookup_expr="gte"
    )
    date_to = django_filters.DateFilter(
        label=_("To"), field_name="transaction__effective_date", lookup_expr="lte"
    )
    kind = django_filters.CharFilter(
        label=_("Transaction kind"),
        field_name="transaction__kind",
        lookup_expr="startswith",
        widget=forms.TextInput(attrs={"list": KINDS_DATALIST}),
    )
    account = django_filters.ModelChoiceFilter(
        label=_("Account"), queryset=LedgerAccount.objects.none(), field_name="account"
    )
    o = django_filters.OrderingFilter(
        fields=(
            ("transaction__effective_date", "date"),
            ("transaction_id", "transaction"),
            ("transaction__kind", "kind"),
            ("amount", "amount"),
        ),
    )

    class Meta:
        model = JournalEntry
        fields = ["date_from", "date_to", "kind", "account"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        seller = getattr(self.request, "seller", None)
        if seller is not None:
            self.filters["account"].queryset = LedgerAccount.objects.filter(book=seller).order_by("code")
            self.form.fields["account"].queryset = self.filters["account"].queryset


class AsOfForm(forms.Form):
    """The trial balance's date: balances of entries effective up to it (empty: everything posted)."""

    as_of = forms.DateField(
        label=_("As of"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}),
    )
