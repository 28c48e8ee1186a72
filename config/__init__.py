import warnings

# django-fsm 3.0 announces its move into viewflow on import; the API we use is stable.
warnings.filterwarnings("ignore", message="The 'django-fsm' package has been integrated")

from .celery import app as celery_app  # noqa: E402

__all__ = ["celery_app"]
