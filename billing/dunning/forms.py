"""Dunning policy form and its levels formset, with errors that name the day at fault."""

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.dunning.models import DunningLevel, DunningPolicy
from common.forms import BootstrapFormMixin

MAX_DAYS = 365


class DunningPolicyForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = DunningPolicy
        fields = ["name", "is_active", "exhausted_after_days", "exhausted_action"]
        help_texts = {
            "exhausted_after_days": _(
                "Days after the last level was sent with the invoice still unpaid: then dunning is exhausted."
            ),
            "exhausted_action": _(
                "Suspend puts a hold on the customer's gateway traffic until staff lift it; a write-off is "
                "only proposed: an admin or finance approves or rejects it."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Left out (an older form, the API of a script): the policy keeps what it had, else the defaults.
        self.fields["exhausted_after_days"].required = False
        self.fields["exhausted_action"].required = False

    def clean_exhausted_action(self):
        return self.cleaned_data["exhausted_action"] or self.instance.exhausted_action

    def clean_exhausted_after_days(self):
        days = self.cleaned_data["exhausted_after_days"]
        if days is None:
            return self.instance.exhausted_after_days
        if not 1 <= days <= MAX_DAYS:
            raise forms.ValidationError(
                _("Days after the last level must be between 1 and %(max)s.") % {"max": MAX_DAYS}
            )
        return days


class DunningLevelForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = DunningLevel
        fields = ["days_from_due", "name", "suspend_service"]

    def clean_days_from_due(self):
        days = self.cleaned_data["days_from_due"]
        if days is not None and not -MAX_DAYS <= days <= MAX_DAYS:
            raise forms.ValidationError(
                _("Days from the due date must be between -%(max)s and %(max)s.") % {"max": MAX_DAYS}
            )
        return days


class BaseDunningLevelFormSet(forms.BaseInlineFormSet):
    def clean(self):
        """One level per day, at least one level, and no deleting a level that already sent notices."""
        if any(self.errors):
            return
        seen: dict[int, int] = {}
        kept = 0
        for index, form in enumerate(self.forms, start=1):
            if not form.cleaned_data:
                continue
            if self.can_delete and self._should_delete_form(form):
                if form.instance.pk and form.instance.notices.exists():
                    raise forms.ValidationError(
                        _("Level %(name)s has already sent reminders and cannot be deleted.")
                        % {"name": form.instance.name}
                    )
                continue
            kept += 1
            days = form.cleaned_data["days_from_due"]
            if days in seen:
                message = _(
                    "Rows %(first)s and %(second)s are both set for day %(days)+d; each day has one level."
                )
                raise forms.ValidationError(message % {"first": seen[days], "second": index, "days": days})
            seen[days] = index
        if not kept:
            raise forms.ValidationError(_("A dunning policy needs at least one level."))

    def validate_unique(self):
        """``clean`` reports duplicate days with the rows named; Django's generic message would repeat it."""


DunningLevelFormSet = forms.inlineformset_factory(
    DunningPolicy,
    DunningLevel,
    form=DunningLevelForm,
    formset=BaseDunningLevelFormSet,
    extra=2,
    can_delete=True,
)
