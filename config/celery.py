"""Celery application.

With no broker configured (the embedded default) tasks run eagerly in the
calling process, after the surrounding transaction commits.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("mttq")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
