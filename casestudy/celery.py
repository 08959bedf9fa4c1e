"""The Celery app. Workers: `celery -A casestudy worker`. Without a broker, jobs never reach it."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casestudy.settings")

app = Celery("casestudy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def preload_nlp(**_kwargs: object) -> None:
    """Load the Norwegian pipeline and lemma table in the worker before it forks its pool.

    Loading takes seconds; done lazily, the first import job in each pool process would spend
    them without a heartbeat, and every child would hold its own copy.
    """
    import django

    django.setup()
    from coding import nlp

    nlp.get_nlp()
    nlp.lemma_table()
