"""Forms of a sub-distributor's retail plan pages; rates are entered as percentages (20 = 20%)."""

from datetime import datetime
from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import AIModel, PlanRule
from catalog.selectors.currencies import currency_choice_field
from common.days import local_midnight
from common.forms import BootstrapFormMixin

HUNDRED = Decimal(100)
# What a sub-distributor may derive a price from: never our cost (COST_MARKUP).
SELLER_METHODS = [
    (PlanRule.Method.WHOLESALE_MARKUP, _("Cost-plus on my wholesale price")),
    (PlanRule.Method.LIST_DISCOUNT, _("Discount off the vendor's list price")),
    (PlanRule.Method.EXPLICIT, _("Explicit prices I enter per model")),
]


def starts_at(day) -> datetime:
    """A change dated today starts now (prices already charged today stay as they were); a later day
    starts at its midnight."""
    now = timezone.now()
    return now if day <= timezone.localdate(now) else local_midnight(day)


class FromTodayMixin:
    def clean_effective(self):
        day = self.cleaned_data["effective"]
        if day < timezone.localdate():
            raise forms.ValidationError(_("Changes start today or later; past prices are never rewritten."))
        return day


def _effective_field():
    return forms.DateField(
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Today: from now on."),
    )


class RuleFields(FromTodayMixin, forms.Form):
    method = forms.ChoiceField(label=_("Pricing"), choices=SELLER_METHODS)
    markup_percent = forms.DecimalField(
        label=_("Markup %"),
        required=False,
        min_value=0,
        max_digits=9,
        decimal_places=4,
        help_text=_("For cost-plus: 20 sells at wholesale + 20%."),
    )
    discount_percent = forms.DecimalField(
        label=_("Discount %"),
        required=False,
        min_value=0,
        max_value=100,
        max_digits=9,
        decimal_places=4,
        # xgettext:no-python-format
        help_text=_("For a list discount: 10 sells at 90% of list."),
    )
    effective = _effective_field()
    keep_windows = forms.BooleanField(
        label=_("Keep time-of-day prices"),
        required=False,
        initial=True,
        help_text=_(
            "Derived prices keep the source's off-peak windows, scaled like every price; untick to sell at "
            "the standard price at all hours."
        ),
    )

    def clean(self):
        data = super().clean()
        method = data.get("method")
        if method == PlanRule.Method.WHOLESALE_MARKUP and data.get("markup_percent") is None:
            self.add_error("markup_percent", _("Enter the markup."))
        if method == PlanRule.Method.LIST_DISCOUNT and data.get("discount_percent") is None:
            self.add_error("discount_percent", _("Enter the discount."))
        return data

    def rule_arguments(self) -> dict:
        data = self.cleaned_data
        markup, discount = data.get("markup_percent"), data.get("discount_percent")
        return {
            "method": data["method"],
            "markup": markup / HUNDRED if markup is not None else None,
            "discount": discount / HUNDRED if discount is not None else None,
            "effective_from": starts_at(data["effective"]),
            "keep_windows": bool(data.get("keep_windows")),
        }


class RetailPlanCreateForm(BootstrapFormMixin, RuleFields):
    name = forms.CharField(label=_("Name"), max_length=120)
    currency = currency_choice_field()
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    is_default = forms.BooleanField(
        label=_("Default plan"), required=False, help_text=_("For your customers with no plan of their own.")
    )
    field_order = ["name", "currency", "description", "is_default", "method", "markup_percent"]

    def __init__(self, *args, currency: str = settings.BASE_CURRENCY, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].initial = currency
        self.fields["effective"].initial = timezone.localdate()


class RetailRuleForm(BootstrapFormMixin, RuleFields):
    model = forms.ModelChoiceField(
        label=_("Model"),
        queryset=AIModel.objects.filter(is_active=True).order_by("name"),
        required=False,
        empty_label=_("All models"),
    )
    field_order = ["model", "method", "markup_percent", "discount_percent", "effective"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["effective"].initial = timezone.localdate()


class RetailPlanEditForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    is_default = forms.BooleanField(label=_("Default plan"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False)


class RetailPriceForm(FromTodayMixin, BootstrapFormMixin, forms.Form):
    model = forms.ModelChoiceField(
        label=_("Model"), queryset=AIModel.objects.filter(is_active=True).order_by("name")
    )
    input = forms.DecimalField(label=_("Input"), min_value=0, max_digits=24, decimal_places=12)
    cache_read = forms.DecimalField(
        label=_("Cache read"),
        min_value=0,
        max_digits=24,
        decimal_places=12,
        required=False,
        help_text=_("Blank: the input price."),
    )
    output = forms.DecimalField(label=_("Output"), min_value=0, max_digits=24, decimal_places=12)
    effective = _effective_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["effective"].initial = timezone.localdate()


class RetailAssignForm(FromTodayMixin, BootstrapFormMixin, forms.Form):
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=None)
    effective = _effective_field()
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, customers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers
        self.fields["effective"].initial = timezone.localdate()
