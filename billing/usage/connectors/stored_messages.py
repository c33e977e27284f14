"""Stored text of the connectors (common.stored_text): why a whole export is refused (``newapi``)."""

from django.utils.translation import gettext_noop

from common.stored_text import messages_register

messages_register(
    {
        "usage.newapi.user_log_ids": gettext_noop(
            "This is an export of new-api's user log API (/api/log/self), which answers each row's id modulo "
            "1024: the rows at index %(first)s and %(second)s are different rows that both say id %(id)s. "
            "Their ids cannot tell rows apart, and rows with the same id would be lost as duplicates, so "
            "nothing was ingested. Export the logs with real ids instead: the admin log API (/api/log/) or "
            "new-api's logs table."
        ),
        "usage.newapi.user_log_columns": gettext_noop(
            "This is an export of new-api's user log API (/api/log/self): the row at index %(index)s has a "
            "channel_name but no user, channel or token columns, and that API answers ids that are not the "
            "rows' own (modulo 1024, or the position on the page). Rows with the same id would be lost as "
            "duplicates, so nothing was ingested. Export the logs with real ids instead: the admin log API "
            "(/api/log/) or new-api's logs table."
        ),
    }
)
