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
