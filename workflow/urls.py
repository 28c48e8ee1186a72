from django.urls import include, path

urlpatterns = [
    path("", include("workflow.documents.urls")),
]
