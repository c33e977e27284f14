"""Django admin for catalog definitions. Price entries are read-only here: prices change through
imports, which close the old entry and keep history, so nothing already rated is rewritten."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from catalog.models import (
    AIModel,
    FreeGrant,
    FxRate,
    ModelAlias,
    ModelGroup,
    Pack,
    PlanAssignment,
    PlanRule,
    PriceAlert,
    PriceBook,
    PriceEntry,
    PriceImport,
    PriceTier,
    PriceWindow,
    ProviderMapping,
    SellPlan,
    SubscriptionPlan,
    Vendor,
)
from catalog.services.validation import overlap_check


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "country"]
    search_fields = ["name", "slug"]


class ModelAliasInline(admin.TabularInline):
    model = ModelAlias
    extra = 1


@admin.register(AIModel)
class AIModelAdmin(admin.ModelAdmin):
    list_display = ["name", "vendor", "modality", "context_window", "is_active"]
    list_filter = ["vendor", "modality", "is_active"]
    search_fields = ["name", "display_name", "aliases__alias"]
    inlines = [ModelAliasInline]


@admin.register(PriceBook)
class PriceBookAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "owner",
        "kind",
        "currency",
        "vendor",
        "priority",
        "batch_multiplier",
        "is_active",
    ]
    list_filter = ["kind", "currency", "is_active"]
    search_fields = ["name"]


class PriceTierInline(ReadOnlyMixin, admin.TabularInline):
    model = PriceTier
    extra = 0


class PriceWindowInline(ReadOnlyMixin, admin.TabularInline):
    model = PriceWindow
    extra = 0


@admin.register(PriceEntry)
class PriceEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["model", "book", "effective_from", "effective_to", "request_fee", "source"]
    list_filter = ["book"]
    search_fields = ["model__name"]
    inlines = [PriceTierInline, PriceWindowInline]


class PlanRuleForm(forms.ModelForm):
    class Meta:
        model = PlanRule
        fields = [
            "plan",
            "vendor",
            "model",
            "method",
            "markup",
            "discount",
            "source_book",
            "effective_from",
            "effective_to",
        ]

    def clean(self):
        data = super().clean()
        method, book = data.get("method"), data.get("source_book")
        expected = {"cost_markup": "cost", "list_discount": "list", "explicit": "sell"}.get(method)
        if book is not None and expected and book.kind != expected:
            raise ValidationError({"source_book": f"This rule needs a {expected} book."})
        if method == "explicit" and book is None:
            raise ValidationError({"source_book": "An explicit rule needs the sell book holding its prices."})
        if method in ("cost_markup", "wholesale_markup") and data.get("markup") is None:
            raise ValidationError({"markup": "A cost-plus rule needs a markup."})
        if method == "list_discount" and data.get("discount") is None:
            raise ValidationError({"discount": "A list-discount rule needs a discount."})
        plan = data.get("plan") or getattr(self.instance, "plan", None)
        # As catalog.services.plans: a sub-distributor marks up its wholesale, the operator its cost.
        owned = plan is not None and plan.owner_id is not None
        if (method == "cost_markup" and owned) or (method == "wholesale_markup" and not owned):
            raise ValidationError(
                {"method": "Cost-plus on cost is the operator's; on wholesale, a seller's."}
            )
        if plan is not None and data.get("effective_from"):
            same_scope = PlanRule.objects.filter(
                plan=plan, model=data.get("model"), vendor=data.get("vendor")
            )
            if self.instance.pk:
                same_scope = same_scope.exclude(pk=self.instance.pk)
            overlap_check(data["effective_from"], data.get("effective_to"), same_scope, "This rule")
        return data


class PlanRuleInline(admin.TabularInline):
    model = PlanRule
    form = PlanRuleForm
    extra = 0
    autocomplete_fields = ["model"]


@admin.register(SellPlan)
class SellPlanAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "currency", "is_default", "margin_floor", "is_active"]
    list_filter = ["currency", "is_default", "is_active"]
    list_select_related = ["owner"]
    search_fields = ["name"]
    inlines = [PlanRuleInline]


class PlanAssignmentForm(forms.ModelForm):
    class Meta:
        model = PlanAssignment
        fields = ["customer", "plan", "effective_from", "effective_to", "note"]

    def clean(self):
        data = super().clean()
        if data.get("customer") and data.get("effective_from"):
            others = PlanAssignment.objects.filter(customer=data["customer"])
            if self.instance.pk:
                others = others.exclude(pk=self.instance.pk)
            overlap_check(data["effective_from"], data.get("effective_to"), others, "This assignment")
        return data


@admin.register(PlanAssignment)
class PlanAssignmentAdmin(admin.ModelAdmin):
    form = PlanAssignmentForm
    list_display = ["customer", "plan", "effective_from", "effective_to"]
    list_filter = ["plan"]
    search_fields = ["customer__name", "customer__code"]


@admin.register(ModelGroup)
class ModelGroupAdmin(admin.ModelAdmin):
    list_display = ["name"]
    filter_horizontal = ["vendors", "ai_models"]


@admin.register(Pack)
class PackAdmin(admin.ModelAdmin):
    list_display = ["name", "unit", "allowance", "price", "currency", "validity_days", "is_active"]


@admin.register(SubscriptionPlan)
class SubscriptionPlanAdmin(admin.ModelAdmin):
    list_display = ["name", "monthly_fee", "currency", "unit", "allowance", "overage_plan", "is_active"]


@admin.register(FreeGrant)
class FreeGrantAdmin(admin.ModelAdmin):
    list_display = ["customer", "unit", "amount", "currency", "granted_at", "expires_at"]
    search_fields = ["customer__name"]


@admin.register(FxRate)
class FxRateAdmin(admin.ModelAdmin):
    list_display = ["date", "base", "quote", "rate", "source"]
    list_filter = ["base", "quote"]


@admin.register(PriceImport)
class PriceImportAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["pk", "filename", "book_name", "kind", "status", "created_at"]
    exclude = ["content"]


@admin.register(ProviderMapping)
class ProviderMappingAdmin(admin.ModelAdmin):
    list_display = ["provider", "action", "vendor", "channel_book", "updated_at"]
    list_filter = ["action", "vendor"]
    search_fields = ["provider", "note"]


@admin.register(PriceAlert)
class PriceAlertAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "plan",
        "model",
        "token_class",
        "batch",
        "kind",
        "sell_price",
        "cost_price",
        "raised_at",
        "resolved_at",
    ]
    list_filter = ["kind", "plan"]
