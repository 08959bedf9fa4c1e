"""The Celery app. Workers: `celery -A casestudy worker`. Without a broker, jobs never reach it."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casestudy.settings")

app = Celery("casestudy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
