"""Filter, sort and paginate a list page the same way everywhere."""

from django.core.paginator import Paginator

PAGE_SIZE = 25


def filtered_page(request, queryset, filterset_class, *, per_page: int = PAGE_SIZE) -> dict:
    """Return the template context for a list: the bound filter and the requested page of its results."""
    filterset = filterset_class(request.GET or None, queryset=queryset, request=request)
    results = filterset.qs if filterset.is_bound else filterset.queryset
    if filterset.is_bound and not filterset.is_valid():
        results = queryset.none()
    page = Paginator(results, per_page).get_page(request.GET.get("page"))
    return {"filter": filterset, "page_obj": page}
