from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SigningConfig(AppConfig):
    name = "signing"
    verbose_name = _("Digital signing")

    def ready(self) -> None:
        from workflow.documents.services import register_action_handler

        from . import logfilters, services

        # Expected validation outcomes (unknown CA, revoked…) as one line, no traceback.
        logfilters.install()

        # "Ký số" and "Cấp số và ban hành" become PDF work around the transition.
        register_action_handler("sign", services.sign_document)
        register_action_handler("issue", services.issue_document)
