from django.urls import path

from .views import board, cases, common, recommendations

app_name = "oversight"
urlpatterns = [
    path("", board.dashboard, name="dashboard"),
    path("export.<str:fmt>", board.dashboard_export, name="dashboard_export"),
    path("drill/<str:metric>/", board.drilldown, name="drilldown"),
    path("critiques/", cases.critique_list, name="critique_list"),
    path("critiques/new/", cases.critique_new, name="critique_new"),
    path("critiques/<int:pk>/", cases.critique_detail, name="critique_detail"),
    path("critiques/<int:pk>/act/", cases.critique_act, name="critique_act"),
    path("supervisions/", cases.supervision_list, name="supervision_list"),
    path("supervisions/new/", cases.supervision_new, name="supervision_new"),
    path("supervisions/<int:pk>/", cases.supervision_detail, name="supervision_detail"),
    path("supervisions/<int:pk>/act/", cases.supervision_act, name="supervision_act"),
    path("recommendations/", recommendations.recommendation_list, name="recommendation_list"),
    path("recommendations/new/", recommendations.recommendation_new, name="recommendation_new"),
    path("recommendations/<int:pk>/", recommendations.recommendation_detail,
         name="recommendation_detail"),
    path("recommendations/<int:pk>/act/", recommendations.recommendation_act,
         name="recommendation_act"),
    path("reports/", recommendations.report_page, name="reports"),
    path("periodic/", recommendations.periodic_page, name="periodic"),
    path("files/<int:pk>/", common.case_file, name="case_file"),
    path("notices/", common.notices, name="notices"),
]
