from django.contrib import admin

from .models import (
    CritiqueCase,
    PeriodicReport,
    Recommendation,
    RecommendationReport,
    SupervisionCase,
)


# Read-mostly views for administrators; state changes go through the services.
@admin.register(CritiqueCase)
class CritiqueCaseAdmin(admin.ModelAdmin):
    list_display = ["title", "unit", "state", "held_on", "reply_due"]
    list_filter = ["state", "form"]
    search_fields = ["title", "agency"]
    readonly_fields = ["state"]
    raw_id_fields = ["unit", "plan_document", "conclusion_document", "owner", "created_by",
                     "meeting"]


@admin.register(SupervisionCase)
class SupervisionCaseAdmin(admin.ModelAdmin):
    list_display = ["title", "unit", "state", "held_on"]
    list_filter = ["state"]
    search_fields = ["title", "supervised_body"]
    readonly_fields = ["state"]
    raw_id_fields = ["unit", "plan_document", "decision_document", "report_document", "owner",
                     "created_by", "meeting"]


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    list_display = ["topic", "unit", "source", "status", "raised_on", "due_date"]
    list_filter = ["status", "source", "field"]
    search_fields = ["topic", "addressee"]
    readonly_fields = ["status"]
    raw_id_fields = ["unit", "supervision", "critique", "report", "owner", "created_by",
                     "meeting"]


admin.site.register(RecommendationReport)
admin.site.register(PeriodicReport)
