"""The price calculator's form: the token counts of ``CalculatorForm`` plus the service tier a request names
and its audio and image units, so a quote can show every price a request may pay."""

from dataclasses import replace
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.forms import CalculatorForm
from catalog.rating import Usage


class QuoteForm(CalculatorForm):
    service_tier = forms.CharField(
        label=_("Service tier"),
        max_length=20,
        required=False,
        help_text=_("flex, priority; blank: standard."),
    )
    audio_prompt_tokens = forms.IntegerField(
        label=_("Audio input tokens"), min_value=0, initial=0, required=False
    )
    audio_completion_tokens = forms.IntegerField(
        label=_("Audio output tokens"), min_value=0, initial=0, required=False
    )
    images = forms.IntegerField(label=_("Images"), min_value=0, initial=0, required=False)
    audio_seconds = forms.DecimalField(
        label=_("Audio seconds"), min_value=0, max_digits=15, decimal_places=3, initial=0, required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def usage(self) -> Usage:
        data = self.cleaned_data
        seconds = data.get("audio_seconds") or Decimal(0)
        return replace(
            super().usage(),
            audio_prompt_tokens=data.get("audio_prompt_tokens") or 0,
            audio_completion_tokens=data.get("audio_completion_tokens") or 0,
            images=data.get("images") or 0,
            audio_ms=int(seconds * 1000),
            service_tier=(data.get("service_tier") or "").strip().lower(),
        )
