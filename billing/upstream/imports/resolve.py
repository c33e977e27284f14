"""Which channel and which catalog model a vendor row is for.

Channel, in order: the one the import is for (``--channel``, or chosen on the page); else the channel whose
``vendor_key_id`` is the row's key id (OpenAI/Anthropic ``api_key_id``); else the channel the row names by
name or alias (the generic CSV's column). A row left without a channel is an error naming what it had.

A chosen channel takes only its own rows: a row whose key id is another channel's vendor key id, or (when
the chosen channel has a vendor key id) any other key id, is a row error — an organization-wide export
imported for one channel must not store the other keys' usage on it. A chosen channel without a vendor key
id takes the rows of keys no channel claims.
Model: the catalog model whose name or alias is the reported name (or its part after a provider prefix,
``openai/gpt-4.1`` → ``gpt-4.1``); an unknown name is kept as reported with no model — reconciliation
reads it as data, not an error.
"""

from django.utils.translation import gettext as _

from billing.upstream.imports.rows import FieldProblem, SourceRow
from catalog.models import AIModel, Channel
from catalog.selectors.channels import channels_resolve
from catalog.selectors.models import models_for_matching


class ChannelFinder:
    def __init__(self, channel: Channel | None):
        self.channel = channel
        self.by_key: dict[str, list[Channel]] = {}
        for found in Channel.objects.exclude(vendor_key_id="").select_related("contract"):
            self.by_key.setdefault(found.vendor_key_id, []).append(found)
        self.by_name: dict[str, Channel | None] = {}

    def _named(self, name: str) -> Channel | None:
        lowered = name.lower()
        if lowered not in self.by_name:
            self.by_name[lowered] = channels_resolve({lowered}).get(lowered)
        return self.by_name[lowered]

    def _own_key(self, key: str) -> None:
        """Refuse a row of the chosen channel's import whose key id is not the channel's."""
        channel = self.channel
        if key == channel.vendor_key_id:
            return
        owners = sorted(c.name for c in self.by_key.get(key, []))
        if owners:
            raise FieldProblem(
                "api_key_id",
                _(
                    "The key id %(key)s is the vendor key id of %(owners)s, not of %(channel)s, which this "
                    "import is for: import the file without choosing a channel to store each key's usage on "
                    "its own channel."
                )
                % {"key": repr(key), "owners": ", ".join(owners), "channel": channel.name},
            )
        if channel.vendor_key_id:
            raise FieldProblem(
                "api_key_id",
                _(
                    "The key id %(key)s is not the vendor key id of %(channel)s (%(own)s), which this import "
                    "is for: set the key id on its channel and import the file without choosing a channel."
                )
                % {"key": repr(key), "channel": channel.name, "own": repr(channel.vendor_key_id)},
            )

    def find(self, row: SourceRow) -> Channel:
        if self.channel is not None:
            if row.channel_name:
                named = self._named(row.channel_name)
                if named is None or named.pk != self.channel.pk:
                    raise FieldProblem(
                        "channel",
                        _("The row names channel %(name)s, but this import is for channel %(channel)s.")
                        % {"name": repr(row.channel_name), "channel": self.channel.name},
                    )
            if row.key_id:
                self._own_key(row.key_id)
            return self.channel
        if row.key_id:
            found = self.by_key.get(row.key_id, [])
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise FieldProblem(
                    "api_key_id",
                    _(
                        "The key id %(key)s is the vendor key id of several channels (%(channels)s): "
                        "choose one."
                    )
                    % {"key": repr(row.key_id), "channels": ", ".join(sorted(c.name for c in found))},
                )
            raise FieldProblem(
                "api_key_id",
                _(
                    "No channel has the vendor key id %(key)s: set it on its channel, or import the file for "
                    "one channel."
                )
                % {"key": repr(row.key_id)},
            )
        if row.channel_name:
            named = self._named(row.channel_name)
            if named is None:
                raise FieldProblem(
                    "channel",
                    _("%(name)s is no channel's name or alias.") % {"name": repr(row.channel_name)},
                )
            return named
        raise FieldProblem(
            "channel",
            _(
                "The row does not say its channel: import the file for one channel, or export it grouped by "
                "api key (OpenAI, Anthropic) or with a channel column (generic)."
            ),
        )


class ModelFinder:
    def __init__(self):
        self.index = models_for_matching()

    def find(self, name: str, *also: str) -> AIModel | None:
        for candidate in (name, *also):
            if not candidate:
                continue
            lowered = candidate.lower()
            model = self.index.get(lowered) or self.index.get(lowered.rsplit("/", 1)[-1])
            if model is not None:
                return model
        return None
