from django.urls import path

from . import views

app_name = "oversight"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export.<str:fmt>", views.dashboard_export, name="dashboard_export"),
    path("drill/<str:metric>/", views.drilldown, name="drilldown"),
    path("critiques/", views.critique_list, name="critique_list"),
    path("critiques/new/", views.critique_new, name="critique_new"),
    path("critiques/<int:pk>/", views.critique_detail, name="critique_detail"),
    path("critiques/<int:pk>/act/", views.critique_act, name="critique_act"),
    path("supervisions/", views.supervision_list, name="supervision_list"),
    path("supervisions/new/", views.supervision_new, name="supervision_new"),
    path("supervisions/<int:pk>/", views.supervision_detail, name="supervision_detail"),
    path("supervisions/<int:pk>/act/", views.supervision_act, name="supervision_act"),
    path("recommendations/", views.recommendation_list, name="recommendation_list"),
    path("recommendations/new/", views.recommendation_new, name="recommendation_new"),
    path("recommendations/<int:pk>/", views.recommendation_detail,
         name="recommendation_detail"),
    path("recommendations/<int:pk>/act/", views.recommendation_act,
         name="recommendation_act"),
    path("reports/", views.report_page, name="reports"),
    path("periodic/", views.periodic_page, name="periodic"),
    path("files/<int:pk>/", views.case_file, name="case_file"),
    path("notices/", views.notices, name="notices"),
]
