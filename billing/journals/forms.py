"""The manual journal forms: the entry (reason, date, attachments), its lines as a formset, a rejection.

They parse and shape input; the rules (balance per currency, accounts, attachments) live in
``billing.journals.lines`` and ``attachments`` and are run here too, so each error shows on its line.
"""

import uuid

from django import forms
from django.conf import settings
from django.forms.models import ModelChoiceIterator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.journals.lines import CREDIT, DEBIT, LineInput, lines_problems
from billing.journals.selectors import postable_accounts
from billing.ledger.models import LedgerAccount
from billing.money import MONEY_FIELD
from common.forms import BootstrapFormMixin

LINES_DEFAULT = 4
LINES_MAX = 40


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern); cleans to a list."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class _PostableChoices(ModelChoiceIterator):
    def __init__(self, field):
        super().__init__(field)
        self.queryset = postable_accounts()


class AccountField(forms.ModelChoiceField):
    """Offers only the postable accounts, yet accepts any account: a kept one (a stale page, a hand-made
    post) then gets ``lines``' message saying what to use instead, not "not one of the available choices"."""

    iterator = _PostableChoices

    def __init__(self, **kwargs):
        super().__init__(queryset=LedgerAccount.objects.select_related("customer", "vendor"), **kwargs)


class ManualJournalForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Why the entry is needed; it stays on the record."),
    )
    effective_date = forms.DateField(
        label=_("Effective date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    attachments = MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_("Supporting documents: PDF, PNG, JPEG or XLSX, up to 10 MB each, at most 5."),
    )
    book = forms.ModelChoiceField(
        label=_("Book"),
        queryset=Customer.objects.filter(
            kind=Customer.Kind.SUB_DISTRIBUTOR, chain_mode=Customer.ChainMode.RESALE
        ).order_by("name"),
        required=False,
        help_text=_("Whose books the entry posts in: every line's account must be kept there."),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Blank is the operator's own book, the default.
        self.fields["book"].empty_label = settings.OPERATOR_NAME
        self.initial.setdefault("idempotency_key", f"manual-journal-form:{uuid.uuid4()}")
        self.initial.setdefault("effective_date", timezone.localdate())


class JournalLineForm(BootstrapFormMixin, forms.Form):
    account = AccountField(label=_("Account"))
    # An initial side, so a row left blank counts as unchanged and is skipped rather than refused.
    side = forms.ChoiceField(
        label=_("Debit or credit"), choices=[(DEBIT, _("Debit")), (CREDIT, _("Credit"))], initial=DEBIT
    )
    amount = forms.DecimalField(label=_("Amount"), min_value=0, **MONEY_FIELD)
    currency = forms.CharField(label=_("Currency"), max_length=3, min_length=3)

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()


class BaseJournalLineFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        problems = lines_problems(self.line_inputs())
        by_position = {index + 1: form for index, form in enumerate(self.forms)}
        for position, message in problems:
            if position is None:
                raise forms.ValidationError(message)
            by_position[position].add_error(None, message)

    def line_inputs(self) -> list[LineInput]:
        """The filled lines, numbered as the page shows them (blank rows are skipped)."""
        return [
            LineInput(
                position=index + 1,
                account=form.cleaned_data["account"],
                side=form.cleaned_data["side"],
                amount=form.cleaned_data["amount"],
                currency=form.cleaned_data["currency"],
            )
            for index, form in enumerate(self.forms)
            if form.has_changed() and form.cleaned_data
        ]


def line_formset(data=None):
    """The lines formset: LINES_DEFAULT blank rows; the page adds more (htmx) and sends their count."""
    formset_class = forms.formset_factory(
        JournalLineForm,
        formset=BaseJournalLineFormSet,
        extra=LINES_DEFAULT,
        max_num=LINES_MAX,
        validate_max=True,
    )
    return formset_class(data, prefix="lines")


class RejectForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label=_("Why is it rejected?"), max_length=500)
