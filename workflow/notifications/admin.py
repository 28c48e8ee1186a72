from django.contrib import admin

from .models import Notification, Preference


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "kind", "event", "text", "read_at", "mail")
    list_filter = ("kind", "mail")
    search_fields = ("text", "dedup_key", "recipient__username")
    readonly_fields = [f.name for f in Notification._meta.fields]


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "mode")
    list_filter = ("kind", "mode")
