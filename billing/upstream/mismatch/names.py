"""Whether the model an upstream reported is the one requested, up to snapshots and provider prefixes.

Gateways and vendors spell one model many ways: ``gpt-4o`` answers as ``gpt-4o-2024-08-06``, OpenRouter as
``openai/gpt-4o-2024-08-06``, Bedrock as ``us.anthropic.claude-3-5-sonnet-20240620-v1:0``, Vertex as
``claude-3-5-sonnet@20240620``. None of these is another model, so a name is reduced to its *base* before
comparing:

* lower-cased, surrounding blanks dropped;
* the provider prefix dropped: everything up to the last ``/`` (``openai/``, ``azure/``, ``openrouter/
  anthropic/``), and Bedrock's vendor prefix (``anthropic.``, ``us.meta.`` …);
* Bedrock's version suffix (``-v1:0``) and a ``:latest`` tag dropped;
* then, repeatedly, a trailing snapshot marker: a date (``-2024-08-06``, ``-20240620``, ``@20240620``), a
  four-digit month-day or year-month (``-0613``, ``-2507``), a three-digit revision (``-002``) or ``-latest``.

The reported name is the requested model when its base equals the base of the requested model's name, of
one of its aliases or of the name the event was sent with; or when the reported name (or its base) is
itself a name or alias of the requested model. Anything else — another catalog model, or a name the
catalog does not know — is another model. Changing these rules changes which flags exist: re-scan after.
"""

import re
from dataclasses import dataclass, field

from catalog.models import AIModel, ModelAlias

_BEDROCK_VENDOR = re.compile(
    r"^(?:(?:us|eu|apac|global|jp|au|ca)\.)?(?:anthropic|meta|amazon|mistral|cohere|ai21|deepseek|qwen|openai|writer)\."
)
_TAGS = re.compile(r"(?:-v\d+:\d+|:latest)$")
_SNAPSHOT = re.compile(r"(?:[-@_](?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|\d{3})|-latest)$")


def model_base(name: str) -> str:
    """``name`` without provider prefix, version tags or snapshot markers (see the module's rules)."""
    base = (name or "").strip().lower()
    base = base.rsplit("/", 1)[-1]
    base = _BEDROCK_VENDOR.sub("", base)
    base = _TAGS.sub("", base)
    while True:
        shorter = _SNAPSHOT.sub("", base)
        if shorter == base or not shorter:
            return base
        base = shorter


@dataclass
class ModelNames:
    """Every catalog name and alias, lower-cased, to its model id; loaded once per scan."""

    by_name: dict[str, int] = field(default_factory=dict)
    names_of: dict[int, set[str]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> "ModelNames":
        names = cls()
        for model_id, alias in ModelAlias.objects.values_list("model_id", "alias"):
            names.by_name.setdefault(alias.lower(), model_id)
            names.names_of.setdefault(model_id, set()).add(alias.lower())
        # A canonical name wins over an alias that spells it (as billing.usage.resolve does).
        for model_id, name in AIModel.objects.values_list("id", "name"):
            names.by_name[name.lower()] = model_id
            names.names_of.setdefault(model_id, set()).add(name.lower())
        return names

    def is_other_model(self, *, model_id: int | None, sent_as: str, reported: str) -> bool:
        """Whether ``reported`` names another model than the event's (``model_id``, sent as ``sent_as``)."""
        reported = (reported or "").strip()
        if not reported:
            return False
        requested = {sent_as.lower()} | self.names_of.get(model_id, set())
        base = model_base(reported)
        if base in {model_base(n) for n in requested}:
            return False
        if model_id is not None:
            for candidate in (reported.lower(), reported.lower().rsplit("/", 1)[-1], base):
                if self.by_name.get(candidate) == model_id:
                    return False
        return True
