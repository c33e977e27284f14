"""``Cache-Control: no-store`` on everything a shared computer or a proxy must not keep.

Balances, invoices, statements and tokens are shown only to the signed-in user: a browser cache or an
intermediary keeping them would show them to the next person at that computer (or the back button would,
after sign-out). So every answer under the signed-in areas, and every CSV, PDF or zip download wherever
it comes from, is marked ``no-store``. Static files are none of these and keep their long cache.
"""

# Everything under these paths is for a signed-in user (or a gateway token), answers included.
PRIVATE_PATH_PREFIXES = ("/dashboard/", "/portal/", "/api/", "/accounts/", "/admin/")
# Downloads: exports, documents and archives, whatever view sends them.
DOWNLOAD_CONTENT_TYPES = {"text/csv", "application/pdf", "application/zip"}


def must_not_be_stored(request, response) -> bool:
    if request.path_info.startswith(PRIVATE_PATH_PREFIXES):
        return True
    content_type = response.get("Content-Type", "").split(";", 1)[0].strip().lower()
    disposition = response.get("Content-Disposition", "").lower()
    return content_type in DOWNLOAD_CONTENT_TYPES or disposition.startswith("attachment")


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if must_not_be_stored(request, response) and "no-store" not in response.get("Cache-Control", ""):
            # Replace, not merge: "max-age=3600, no-store" would read as a contradiction to a proxy.
            response["Cache-Control"] = "no-store"
        return response
