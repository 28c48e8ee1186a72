from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from workflow import viewer

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("workflow.accounts.urls")),
    # Django's default post-login address; the home page is the task inbox.
    path(
        "accounts/profile/",
        RedirectView.as_view(pattern_name="documents:inbox", permanent=False),
        name="home",
    ),
    path("view/", viewer.pdf_viewer, name="pdf_viewer"),
    path("", include("workflow.documents.urls")),
    path("incoming/", include("workflow.incoming.urls")),
    path("oversight/", include("workflow.oversight.urls")),
    path("meetings/", include("workflow.meetings.urls")),
    path("records/", include("workflow.records.urls")),
    path("notifications/", include("workflow.notifications.urls")),

    path("organisation/", include("workflow.organisation.urls")),
]
