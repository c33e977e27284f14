from django.urls import path

from distributor import search_views

urlpatterns = [
    path("dashboard/search/", search_views.staff_search, name="staff-search"),
    path("dashboard/search/suggest/", search_views.staff_search_suggest, name="staff-search-suggest"),
]
