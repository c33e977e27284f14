"""Forms of the contracts and channels pages. They check input shape; the services check the terms as a
whole (book kinds, tiers, names against aliases) and their errors land on the field they name."""

from decimal import Decimal

from django import forms
from django.db.models import Q
from django.forms.models import fields_for_model, model_to_dict
from django.utils.translation import gettext_lazy as _

from catalog.models import BookKind, Channel, PriceBook, VendorContract
from catalog.services.contracts import CHANNEL_FIELDS, CONTRACT_FIELDS
from common.forms import BootstrapFormMixin, bootstrap_style

CONTRACT_FORM_FIELDS = list(CONTRACT_FIELDS)
CHANNEL_FORM_FIELDS = list(CHANNEL_FIELDS)
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
NOTES = forms.Textarea(attrs={"rows": 2})


class _ModelFields(BootstrapFormMixin, forms.Form):
    """A plain form with a model's field definitions: the services, not ``Model.full_clean`` on a half-built
    instance, judge the whole (so a constraint never speaks in its database name)."""

    model = None
    field_names: list[str] = []
    widgets: dict = {}

    def __init__(self, *args, instance=None, **kwargs):
        if instance is not None:
            kwargs.setdefault("initial", model_to_dict(instance, fields=self.field_names))
        super().__init__(*args, **kwargs)
        added = fields_for_model(self.model, fields=self.field_names, widgets=self.widgets)
        bootstrap_style(added.values())
        self.fields.update(added)
        # A model form checks the model's validators (discount ≤ 1, amounts ≥ 0) on the instance; this
        # plain form checks them on its fields instead.
        for name in self.field_names:
            field = self.fields[name]
            field.validators.extend(
                v for v in self.model._meta.get_field(name).validators if v not in field.validators
            )
        self.instance = instance


class ContractForm(_ModelFields):
    model = VendorContract
    field_names = CONTRACT_FORM_FIELDS
    widgets = {"valid_from": DATE, "valid_to": DATE, "notes": NOTES}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Each book field offers only books of its kind: a sell book cannot be a contract's cost.
        self.fields["cost_book"].queryset = PriceBook.objects.filter(kind=BookKind.COST).order_by("name")
        self.fields["list_book"].queryset = PriceBook.objects.filter(kind=BookKind.LIST).order_by("name")
        self.fields["list_book"].empty_label = _("The highest-priority list book")
        if self.instance is not None and self.instance.channels.exists():
            # Its channels' upstream ledger is kept in this vendor and currency (contract_update refuses).
            for name in ("vendor", "currency"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Fixed: the contract has channels.")


class TierForm(BootstrapFormMixin, forms.Form):
    min_monthly_volume = forms.DecimalField(
        label=_("From monthly volume"), required=False, min_value=0, max_digits=20, decimal_places=4
    )
    discount = forms.DecimalField(
        label=_("Discount off list"),
        required=False,
        min_value=0,
        max_value=1,
        max_digits=13,
        decimal_places=12,
    )

    def clean(self):
        data = super().clean()
        lo, discount = data.get("min_monthly_volume"), data.get("discount")
        if (lo is None) != (discount is None) and not self.errors:
            raise forms.ValidationError(
                _("Give both the monthly volume and the discount, or leave the row empty.")
            )
        return data


class BaseTierFormSet(forms.BaseFormSet):
    def clean(self):
        """Distinct volume floors, naming the rows that repeat one."""
        if any(self.errors):
            return
        seen: dict[Decimal, int] = {}
        for index, form in enumerate(self.forms, start=1):
            lo = form.cleaned_data.get("min_monthly_volume")
            if lo is None or (self.can_delete and self._should_delete_form(form)):
                continue
            if lo in seen:
                raise forms.ValidationError(
                    _(
                        "Rows %(first)s and %(second)s both start at %(volume)s; each tier starts at its "
                        "own volume."
                    )
                    % {"first": seen[lo], "second": index, "volume": f"{lo.normalize():f}"}
                )
            seen[lo] = index

    def tiers(self) -> list[tuple[Decimal, Decimal]]:
        return [
            (form.cleaned_data["min_monthly_volume"], form.cleaned_data["discount"])
            for form in self.forms
            if form.cleaned_data.get("min_monthly_volume") is not None
            and not (self.can_delete and self._should_delete_form(form))
        ]


TierFormSet = forms.formset_factory(TierForm, formset=BaseTierFormSet, extra=3, can_delete=True)


def tier_formset(data=None, contract: VendorContract | None = None) -> BaseTierFormSet:
    initial = (
        [{"min_monthly_volume": t.min_monthly_volume, "discount": t.discount} for t in contract.tiers.all()]
        if contract is not None
        else []
    )
    return TierFormSet(data, initial=initial, prefix="tiers")


class ChannelForm(_ModelFields):
    model = Channel
    field_names = CHANNEL_FORM_FIELDS
    widgets = {"notes": NOTES}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        contracts = VendorContract.objects.select_related("vendor").order_by("vendor__name", "name")
        if self.instance is None:
            self.fields["contract"].queryset = contracts.filter(is_active=True)
        else:
            # A channel moves only within its vendor and currency (its upstream ledger is kept in them).
            current = self.instance.contract
            self.fields["contract"].queryset = contracts.filter(
                Q(is_active=True, vendor=current.vendor_id, currency=current.currency) | Q(pk=current.pk)
            )
        self.fields["contract"].label_from_instance = lambda c: f"{c.name} · {c.vendor.name} · {c.currency}"
        if self.instance is None:
            self.fields["aliases"] = forms.CharField(
                label=_("Aliases"),
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
                help_text=_("Other names the gateway sends for this account, one per line."),
            )
            bootstrap_style([self.fields["aliases"]])

    def clean_aliases(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("aliases", "").splitlines() if line.strip()]


class AliasForm(BootstrapFormMixin, forms.Form):
    alias = forms.CharField(label=_("Alias"), max_length=120)


class UnmappedFilterForm(BootstrapFormMixin, forms.Form):
    """The unmapped channels list's filters (``billing.usage.channels.unmapped_channels``)."""

    q = forms.CharField(label=_("Upstream account"), required=False, max_length=120)
    since = forms.DateField(label=_("Used since"), required=False, widget=DATE)
    until = forms.DateField(label=_("Used until"), required=False, widget=DATE)
    o = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end comes before the start."))
        return data


class ChannelMapForm(BootstrapFormMixin, forms.Form):
    upstream_account = forms.CharField(widget=forms.HiddenInput, max_length=120)
    channel = forms.ModelChoiceField(
        label=_("Channel"),
        queryset=Channel.objects.filter(is_active=True).select_related("contract__vendor").order_by("name"),
        empty_label=_("Choose the channel this account is"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].label_from_instance = lambda c: (
            f"{c.name} · {c.contract.vendor.name} · {c.contract.name} ({c.contract.currency})"
        )
