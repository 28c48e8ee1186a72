"""/api/signing/: two-step signing for USB tokens and remote signing devices; verify."""

from django.urls import path

from . import api

app_name = "signing-api"

urlpatterns = [
    path("documents/<int:pk>/prepare/", api.PrepareView.as_view(), name="prepare"),
    path("pending/", api.PendingListView.as_view(), name="pending-list"),
    path("pending/<uuid:token>/", api.PendingDetailView.as_view(), name="pending-detail"),
    path("pending/<uuid:token>/complete/", api.CompleteView.as_view(), name="complete"),
    path("verify/", api.VerifyView.as_view(), name="verify"),
]
