"""The staff search page and its typeahead: thin views over ``distributor.search``."""

from django.shortcuts import redirect, render

from accounts.permissions import staff_required
from distributor.search import MAX_LENGTH, MIN_LENGTH, SUGGEST_PER_KIND, search


@staff_required()
def staff_search(request):
    """Results of every kind; a query naming one invoice or one request exactly opens it directly."""
    results = search(request.user, request.GET.get("q"))
    target = results.exact_target()
    if target is not None and "all" not in request.GET:
        return redirect(target.url)
    context = {"results": results, "min_length": MIN_LENGTH, "max_length": MAX_LENGTH}
    return render(request, "search/results.html", context)


@staff_required()
def staff_search_suggest(request):
    """The navbar's dropdown (htmx): a few hits of each kind and a link to every result."""
    results = search(request.user, request.GET.get("q"), per_kind=SUGGEST_PER_KIND)
    return render(request, "search/_suggestions.html", {"results": results})
