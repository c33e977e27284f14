from django.urls import path

from billing.journals import views

urlpatterns = [
    path("dashboard/journals/manual/", views.journal_list, name="staff-manual-journal-list"),
    path("dashboard/journals/manual/new/", views.journal_create, name="staff-manual-journal-new"),
    path("dashboard/journals/manual/new/line/", views.journal_line_row, name="staff-manual-journal-line"),
    path("dashboard/journals/manual/<int:pk>/", views.journal_detail, name="staff-manual-journal-detail"),
    path(
        "dashboard/journals/manual/<int:pk>/decide/", views.journal_decide, name="staff-manual-journal-decide"
    ),
    path(
        "dashboard/journals/manual/<int:pk>/attachments/<int:attachment_pk>/",
        views.journal_attachment,
        name="staff-manual-journal-attachment",
    ),
]
