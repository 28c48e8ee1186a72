from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/search/", include("search.api_urls")),
    path("api/signing/", include("signing.api_urls")),
    path("api/", include("workflow.api.urls")),
    path("search/", include("search.urls")),
    path("signing/", include("signing.urls")),
    path("exchange/", include("workflow.exchange.urls")),
    path("", include("workflow.ops.urls")),
    path("", include("workflow.urls")),
]

# JSON for unknown /api/ addresses, the normal page elsewhere.
handler404 = "workflow.api.views.not_found"
handler400 = "workflow.api.views.bad_request"
