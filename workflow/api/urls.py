"""Addresses of the REST API, mounted under /api/."""

from django.urls import path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from workflow.exchange import api as exchange_api
from workflow.incoming import api as incoming_api

from . import meetings, notifications, oversight, views

app_name = "api"
urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="token"),
    path("auth/tokens/", views.TokenListView.as_view(), name="tokens"),
    path("auth/tokens/<str:token_id>/", views.TokenDetailView.as_view(), name="token-detail"),

    path("auth/second-factor/", views.SecondFactorView.as_view(), name="second-factor"),
    path("documents/", views.DocumentListView.as_view(), name="document-list"),
    path("documents/<int:pk>/", views.DocumentDetailView.as_view(), name="document-detail"),
    path("documents/<int:pk>/files/", views.DocumentFilesView.as_view(), name="document-files"),
    path(
        "documents/<int:pk>/versions/<int:version_id>/download/",
        views.VersionDownloadView.as_view(),
        name="document-version-download",
    ),
    path(
        "documents/<int:pk>/comments/",
        views.DocumentCommentsView.as_view(),
        name="document-comments",
    ),
    path(
        "documents/<int:pk>/transitions/<str:action>/",
        views.DocumentTransitionView.as_view(),
        name="document-transition",
    ),
    path(
        "documents/<int:pk>/history/", views.DocumentHistoryView.as_view(), name="document-history"
    ),
    path("documents/<int:pk>/deliveries/", incoming_api.DeliveriesView.as_view(),
         name="document-deliveries"),
    path("incoming/", incoming_api.IncomingListView.as_view(), name="incoming-list"),
    path("incoming/<int:pk>/", incoming_api.IncomingDetailView.as_view(),
         name="incoming-detail"),
    path("incoming/<int:pk>/actions/<str:action>/", incoming_api.IncomingActionView.as_view(),
         name="incoming-action"),
    path("documents/<int:pk>/edxml/", exchange_api.EdxmlExportView.as_view(),
         name="document-edxml"),
    path("documents/<int:pk>/recall/", exchange_api.RecallView.as_view(), name="document-recall"),
    path("documents/<int:pk>/replacement/", exchange_api.ReplacementView.as_view(),
         name="document-replacement"),
    path("edxml/import/", exchange_api.EdxmlImportView.as_view(), name="edxml-import"),
    path("recall-notices/<int:pk>/acknowledge/", exchange_api.RecallAckView.as_view(),
         name="recall-acknowledge"),
    path("inbox/", views.InboxView.as_view(), name="inbox"),
    path("document-types/", views.DocumentTypeListView.as_view(), name="document-types"),
    path("units/", views.UnitListView.as_view(), name="units"),
    # Meetings, oversight and notifications (issue #21).
    path("meetings/", meetings.MeetingListView.as_view(), name="meeting-list"),
    path("meetings/<int:pk>/", meetings.MeetingDetailView.as_view(), name="meeting-detail"),
    path("meetings/<int:pk>/agenda/", meetings.MeetingAgendaView.as_view(),
         name="meeting-agenda"),
    path("meetings/<int:pk>/papers/", meetings.MeetingPapersView.as_view(),
         name="meeting-papers"),
    path("meetings/papers/<int:pk>/file/", meetings.PaperFileView.as_view(),
         name="meeting-paper-file"),
    path("meetings/<int:pk>/attendance/", meetings.AttendanceView.as_view(),
         name="meeting-attendance"),
    path("meetings/<int:pk>/speak/", meetings.SpeakView.as_view(), name="meeting-speak"),
    path("meetings/<int:pk>/votes/", meetings.VoteListView.as_view(), name="meeting-votes"),
    path("meetings/votes/<int:pk>/ballot/", meetings.BallotView.as_view(),
         name="meeting-ballot"),
    path("oversight/cases/", oversight.CaseListView.as_view(), name="oversight-cases"),
    path("oversight/cases/<str:kind>/<int:pk>/", oversight.CaseDetailView.as_view(),
         name="oversight-case"),
    path("oversight/recommendations/", oversight.RecommendationListView.as_view(),
         name="oversight-recommendations"),
    path("oversight/recommendations/<int:pk>/", oversight.RecommendationDetailView.as_view(),
         name="oversight-recommendation"),
    path("oversight/targets/", oversight.TargetsView.as_view(), name="oversight-targets"),
    path("notifications/", notifications.NotificationListView.as_view(),
         name="notification-list"),
    path("notifications/read/", notifications.MarkReadView.as_view(), name="notification-read"),
    path("notifications/preferences/", notifications.PreferencesView.as_view(),
         name="notification-preferences"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script under the CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
]
