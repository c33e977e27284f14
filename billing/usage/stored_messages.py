"""Stored text of usage (common.stored_text): why an event is unrated (``rating.unrated``: ``"<code>:
<detail>"``, the detail a catalog refusal or one of the texts below) and what is wrong with an uploaded
file or row (``uploads``, ``files``, ``events``). The msgids are the English texts as stored."""

from django.utils.translation import gettext_noop

from billing.usage.row_errors import ROW_REASONS
from common.stored_text import messages_register

# What each unrated code (``selectors.UNRATED_REASONS``) is called where events are counted by it.
UNRATED_LABELS = {
    "unknown_key": gettext_noop("Unknown gateway key"),
    "unknown_model": gettext_noop("Unknown model name"),
    "no_plan": gettext_noop("No plan for the customer"),
    "no_price": gettext_noop("No price for the model"),
    "missing_fx": gettext_noop("Exchange rate missing"),
    "not_rateable": gettext_noop("Usage cannot be rated"),
    "other": gettext_noop("Other reasons"),
}

messages_register({f"usage.unrated_code.{code}": label for code, label in UNRATED_LABELS.items()})
# Why a bad row of an upload was refused (``row_errors``), and why a whole file could not be read (``files``).
messages_register(ROW_REASONS)
messages_register(
    {
        "usage.file.archive": gettext_noop(
            "The file is a %(kind)s archive (an Excel workbook is one too): upload the CSV, NDJSON or JSON "
            "file itself, uncompressed."
        ),
        "usage.file.encoding": gettext_noop(
            "The file is %(encoding)s text, not UTF-8: save it as UTF-8 and upload it again."
        ),
    }
)
messages_register(
    {
        "usage.unrated.unknown_key": gettext_noop("unknown_key: %(detail)s"),
        "usage.unrated.unknown_model": gettext_noop("unknown_model: %(detail)s"),
        "usage.unrated.no_plan": gettext_noop("no_plan: %(detail)s"),
        "usage.unrated.no_price": gettext_noop("no_price: %(detail)s"),
        "usage.unrated.missing_fx": gettext_noop("missing_fx: %(detail)s"),
        "usage.unrated.not_rateable": gettext_noop("not_rateable: %(detail)s"),
        "usage.unrated.no_such_key": gettext_noop("no customer has key %(gateway_key)s"),
        "usage.unrated.no_such_keys": gettext_noop(
            "no customer has any of the keys %(gateway_keys)s (tried in this order)"
        ),
        "usage.unrated.disabled_key": gettext_noop("the gateway key %(gateway_key)s is disabled"),
        "usage.unrated.no_such_model": gettext_noop("%(model)s is not a known model or alias"),
        "usage.unrated.field": gettext_noop("%(field)s: %(reason)s"),
        "usage.unrated.for_hop": gettext_noop("%(reason)s (for %(customer)s's %(role)s)"),
        "usage.unrated.purchase": gettext_noop("purchase"),
        "usage.unrated.commission": gettext_noop("commission"),
        "usage.unrated.commission_currency": gettext_noop(
            "%(agent)s's price is in %(own)s, its customer's in %(theirs)s: no commission can be worked out"
        ),
        "usage.unrated.channel_cost": gettext_noop("%(reason)s (cost on channel %(channel)s)"),
    }
)

# The memos of usage postings (``postings``, ``corrections``, ``channel_map``): the English as written.
messages_register(
    {
        "usage.memo.batch": gettext_noop("Usage batch %(batch)s (%(batch_key)s)"),
        "usage.memo.commission": gettext_noop("Agency commission, usage batch %(batch)s (%(batch_key)s)"),
        "usage.memo.own_use": gettext_noop(
            "Own use bought from our seller, usage batch %(batch)s (%(batch_key)s)"
        ),
        "usage.memo.rerated": gettext_noop("Usage re-rated: %(reason)s"),
        "usage.memo.channel_map": gettext_noop(
            "Usage on upstream account %(account)s moved from %(was)s to %(now)s"
        ),
    }
)
