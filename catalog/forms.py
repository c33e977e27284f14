"""Forms for the catalog pages; they validate shape only, services validate business rules."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import BookKind, PriceBook, PriceImport, ProviderMapping, SellPlan, Vendor
from catalog.rating import Usage

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def _upload_text(upload) -> str:
    """Return an uploaded price or rate file as text, refusing oversized or non-UTF-8 files."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise forms.ValidationError(_("The file is larger than 20 MB."))
    try:
        return upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise forms.ValidationError(_("The file is not UTF-8 text.")) from None


class BootstrapMixin:
    def _style(self):
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


class ImportUploadForm(BootstrapMixin, forms.Form):
    file = forms.FileField(
        label=_("Price file"), help_text=_("LiteLLM JSON or Distributor CSV, up to 20 MB.")
    )
    format = forms.ChoiceField(label=_("Format"), choices=PriceImport.Format.choices)
    book = forms.CharField(
        label=_("Price book"),
        max_length=120,
        required=False,
        help_text=_("An existing book's name, or a new one to create."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", "---------"), *BookKind.choices], required=False)
    provider = forms.ModelChoiceField(
        label=_("Reseller channel"),
        queryset=ProviderMapping.objects.filter(action=ProviderMapping.Action.CHANNEL).select_related(
            "channel_book"
        ),
        required=False,
        to_field_name="provider",
        help_text=_(
            "LiteLLM only: import just this provider's entries into its channel cost book (book and kind "
            "are then the mapping's)."
        ),
    )
    currency = forms.CharField(
        label=_("Currency"),
        max_length=3,
        required=False,
        help_text=_("Only for a new book; LiteLLM is in USD."),
    )
    vendor = forms.ModelChoiceField(
        label=_("Vendor"),
        queryset=Vendor.objects.all(),
        required=False,
        to_field_name="slug",
        help_text=_("Import only this vendor's models (and create new ones under it)."),
    )
    effective = forms.DateField(
        label=_("Effective from"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Prices apply from midnight of this day (operator's time zone)."),
    )
    create_models = forms.BooleanField(label=_("Create models the catalog lacks"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["effective"].initial = timezone.localdate()
        self.fields["provider"].label_from_instance = lambda m: f"{m.provider} → {m.channel_book.name}"
        self._style()

    def clean_file(self):
        return _upload_text(self.cleaned_data["file"])

    def clean(self):
        data = super().clean()
        if data.get("provider"):
            if data.get("format") != PriceImport.Format.LITELLM:
                self.add_error("provider", _("Only a LiteLLM file names providers."))
        else:
            if not (data.get("book") or "").strip():
                self.add_error("book", _("Name the price book, or choose a reseller channel."))
            if not data.get("kind"):
                self.add_error("kind", _("Choose the kind of book."))
        return data


class CalculatorForm(BootstrapMixin, forms.Form):
    """Token counts for a quote; staff pick a customer or a plan, customer users one of their customers."""

    customer = forms.ModelChoiceField(label=_("Customer"), queryset=None, required=False)
    plan = forms.ChoiceField(label=_("Plan or sell book"), required=False)
    model = forms.CharField(label=_("Model"), max_length=200, help_text=_("Canonical name or any alias."))
    prompt_tokens = forms.IntegerField(label=_("Prompt tokens"), min_value=0, initial=0, required=False)
    cache_read_tokens = forms.IntegerField(
        label=_("Cache read tokens"), min_value=0, initial=0, required=False
    )
    cache_write_tokens = forms.IntegerField(
        label=_("Cache write tokens (5 min)"), min_value=0, initial=0, required=False
    )
    cache_write_1h_tokens = forms.IntegerField(
        label=_("Cache write tokens (1 h)"), min_value=0, initial=0, required=False
    )
    completion_tokens = forms.IntegerField(
        label=_("Completion tokens"), min_value=0, initial=0, required=False
    )
    reasoning_tokens = forms.IntegerField(label=_("Reasoning tokens"), min_value=0, initial=0, required=False)
    batch = forms.BooleanField(label=_("Batch request"), required=False)
    at = forms.DateTimeField(
        label=_("At"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Blank: now."),
    )

    def __init__(self, *args, customers, staff: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.staff = staff
        self.fields["customer"].queryset = customers
        self.fields["model"].widget.attrs["list"] = "model-names"
        if staff:
            # By name, the operator's plans and books (sub-distributors' may share names): quote those
            # through a customer they price.
            plans = [
                (p, p)
                for p in SellPlan.objects.filter(is_active=True, owner__isnull=True).values_list(
                    "name", flat=True
                )
            ]
            books = [
                (b, b)
                for b in PriceBook.objects.filter(
                    is_active=True, kind=BookKind.SELL, owner__isnull=True
                ).values_list("name", flat=True)
            ]
            self.fields["plan"].choices = [("", "—"), (_("Plans"), plans), (_("Sell books"), books)]
        else:
            del self.fields["plan"]
        self._style()

    def clean(self):
        data = super().clean()
        if self.staff and not data.get("customer") and not data.get("plan"):
            raise forms.ValidationError(_("Pick a customer or a plan."))
        if self.staff and data.get("customer") and data.get("plan"):
            raise forms.ValidationError(_("Pick a customer or a plan, not both."))
        return data

    def usage(self) -> Usage:
        data = self.cleaned_data
        return Usage(
            prompt_tokens=data["prompt_tokens"] or 0,
            cache_read_tokens=data["cache_read_tokens"] or 0,
            cache_write_tokens=data["cache_write_tokens"] or 0,
            cache_write_1h_tokens=data["cache_write_1h_tokens"] or 0,
            completion_tokens=data["completion_tokens"] or 0,
            reasoning_tokens=data["reasoning_tokens"] or 0,
            batch=bool(data.get("batch")),
            at=data.get("at"),
        )


class FxRateForm(BootstrapMixin, forms.Form):
    base = forms.CharField(label=_("Base currency"), max_length=3, initial="USD")
    quote = forms.CharField(label=_("Quote currency"), max_length=3, initial="CNY")
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    rate = forms.DecimalField(
        label=_("Rate"),
        max_digits=24,
        decimal_places=12,
        help_text=_("1 base = rate × quote; full precision."),
    )
    source = forms.CharField(label=_("Source"), max_length=120, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class FxUploadForm(BootstrapMixin, forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("Columns: date,base,quote,rate."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean_file(self):
        return _upload_text(self.cleaned_data["file"])


class PlanAssignForm(BootstrapMixin, forms.Form):
    # The operator's plans by default; for a given customer, its price owner's plans (the only ones
    # plan_assign accepts), so the list offers no choice that is then refused.
    plan = forms.ModelChoiceField(
        label=_("Plan"), queryset=SellPlan.objects.filter(is_active=True, owner__isnull=True)
    )
    effective = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        if customer is not None:
            self.fields["plan"].queryset = SellPlan.objects.filter(
                is_active=True, owner_id=customer.price_owner_id
            ).order_by("name")
        self.fields["effective"].initial = timezone.localdate()
        self._style()
