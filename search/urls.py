from django.urls import path

from . import views

app_name = "search"
urlpatterns = [
    path("", views.results, name="results"),
    path("suggest/", views.suggest, name="suggest"),
    path("ocr-retry/<int:version_id>/", views.ocr_retry, name="ocr_retry"),
]
