from django.urls import path

from . import api

app_name = "search-api"
urlpatterns = [
    path("", api.SearchAPIView.as_view(), name="search"),
    path("suggest/", api.SuggestAPIView.as_view(), name="suggest"),
]
