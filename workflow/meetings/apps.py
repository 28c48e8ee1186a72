from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MeetingsConfig(AppConfig):
    name = "workflow.meetings"
    label = "meetings"
    verbose_name = _("Meetings")

    def ready(self) -> None:
        # A paper edited after publication must reach the participants: listen to
        # the documents app's change signal instead of patching its services.
        from workflow.documents.services import document_changed

        from . import signals

        document_changed.connect(signals.paper_document_changed,
                                 dispatch_uid="meetings.paper_document_changed")
        # Roles and accounts decide what the room shows a person; it caches that.
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from workflow.organisation.models import Membership

        for signal in (post_save, post_delete):
            signal.connect(signals.membership_changed, sender=Membership,
                           dispatch_uid=f"meetings.membership_changed.{signal is post_save}")
        post_save.connect(signals.user_changed, sender=get_user_model(),
                          dispatch_uid="meetings.user_changed")
