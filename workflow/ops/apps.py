from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "workflow.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        # Task durations and failures are counted in whichever process runs the task.
        from . import metrics

        metrics.connect_celery_signals()
