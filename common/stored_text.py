"""Text a person reads, stored as a message key with its parameters and rendered in the reader's language.

A memo, an unrated reason or an upload error written in English at the time of the event stays English for
a Chinese reader forever. So the code that writes such text also stores ``stored(key, **params)``: a small
JSON object ``{"key": ..., "params": {...}}`` beside it, and pages and documents show
``stored_render(message, fallback)`` in the active language (a document activates its own). The English text
column is kept as written: it is what exports, the admin and rows from before the key existed show.

Keys are registered by modules named ``stored_messages.py`` anywhere in an installed app's package, each
calling ``messages_register`` with ``gettext_noop`` msgids (so ``makemessages`` extracts them); they are found
on first use, so no app has to import them. A parameter is rendered by its shape:

- a plain value (text, number): as is;
- ``stored(...)`` (a dict with ``key``): the nested message, rendered in the same language;
- ``choice(model, field, value)``: the field's choice label (``on_receipt`` → "On receipt" / "收到即付");
- ``field_name(model, field)``: the field's verbose name;
- ``money(amount, currency)``: the amount rounded to the currency's minor unit, with separators;
- ``day(date)``: the date in the active locale's format.
"""

import os
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from importlib import import_module

from django.apps import apps
from django.utils import formats, translation
from django.utils.translation import gettext

from common.currencies import amount_display

_MESSAGES: dict[str, str] = {}
_discovered = False


def messages_register(messages: Mapping[str, str]) -> None:
    """Register message keys and their English msgids (marked with ``gettext_noop``); a key is registered
    once, with one text (a second, different text for the same key is a programming error)."""
    for key, text in messages.items():
        if _MESSAGES.get(key, text) != text:
            raise ValueError(f"stored message {key!r} is registered twice with different texts")
        _MESSAGES[key] = text


def messages_registered() -> dict[str, str]:
    """Every registered key and its English text (all ``stored_messages`` modules loaded)."""
    _discover()
    return dict(_MESSAGES)


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    for config in apps.get_app_configs():
        if not config.path.startswith(_project_root()):
            continue  # Django's and third-party apps have none
        for folder, dirs, files in os.walk(config.path):
            dirs[:] = [d for d in dirs if d not in {"migrations", "__pycache__", "templates", "static"}]
            if "stored_messages.py" in files:
                module = os.path.join(folder, "stored_messages")
                import_module(os.path.relpath(module, os.path.dirname(config.path)).replace(os.sep, "."))
    _discovered = True


def _project_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stored(key: str, **params) -> dict:
    """The JSON to store beside a text: ``key`` (registered) and its parameters, made JSON-safe (a Decimal
    as its exact text, a date or datetime in ISO form)."""
    _discover()
    if key not in _MESSAGES:
        raise KeyError(f"stored message {key!r} is not registered (add it to a stored_messages module)")
    return {"key": key, "params": {name: _json_safe(value) for name, value in params.items()}}


def choice(model: str, field: str, value) -> dict:
    """A parameter rendered as ``model``'s (``"app_label.ModelName"``) ``field`` choice label of ``value``."""
    return {"choice": f"{model}.{field}", "value": _json_safe(value)}


def field_name(model: str, field: str) -> dict:
    """A parameter rendered as the verbose name of ``model``'s ``field``."""
    return {"field": f"{model}.{field}"}


def money(amount, currency: str) -> dict:
    """A parameter rendered as ``amount`` rounded to ``currency``'s minor unit, with separators."""
    return {"money": _json_safe(Decimal(amount)), "currency": currency}


def day(value: date) -> dict:
    """A parameter rendered as the date in the reader's locale."""
    return {"day": value.isoformat()}


def _json_safe(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def stored_render(message: Mapping | None, fallback: str = "", language: str | None = None) -> str:
    """``message`` (as ``stored`` made it) in ``language`` (None: the active one); ``fallback`` (the stored
    English text) when there is no message or its key is no longer known."""
    if not message or not isinstance(message, Mapping) or "key" not in message:
        return fallback
    if language:
        with translation.override(language):
            return _render(message, fallback)
    return _render(message, fallback)


def _render(message: Mapping, fallback: str) -> str:
    _discover()
    template = _MESSAGES.get(message.get("key"))
    if template is None:
        return fallback or str(message.get("key"))
    params = {name: _param(value) for name, value in (message.get("params") or {}).items()}
    text = gettext(template)
    try:
        return text % params if params or "%(" in text else text
    except (KeyError, TypeError, ValueError):
        # A translation that names a parameter the message lacks must not break a page: the English does.
        try:
            return template % params
        except (KeyError, TypeError, ValueError):
            return fallback or template


def _param(value):
    if not isinstance(value, Mapping):
        return value
    if "key" in value:
        return _render(value, "")
    if "choice" in value:
        return _choice_label(value["choice"], value.get("value"))
    if "field" in value:
        model, _, name = value["field"].rpartition(".")
        return str(_model_field(model, name).verbose_name) if _model_field(model, name) else name
    if "money" in value:
        return amount_display(Decimal(value["money"]), value.get("currency", ""))
    if "day" in value:
        return formats.date_format(date.fromisoformat(value["day"][:10]), "SHORT_DATE_FORMAT")
    return str(value)


def _model_field(model: str, name: str):
    try:
        return apps.get_model(model)._meta.get_field(name)
    except (LookupError, ValueError):
        return None


def _choice_label(path: str, raw) -> str:
    model, _, name = path.rpartition(".")
    field = _model_field(model, name)
    if field is None or not field.choices:
        return "" if raw is None else str(raw)
    labels = {str(k): v for k, v in field.flatchoices}
    label = labels.get(str(raw))
    return str(label) if label is not None else ("" if raw is None else str(raw))
