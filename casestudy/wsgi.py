import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casestudy.settings")
application = get_wsgi_application()

# Load the language pipeline (spaCy, the lemma table: seconds) as the server starts, not on the
# first search after a restart; with gunicorn --preload the workers share it.
from coding import nlp  # noqa: E402

nlp.warm()

# One machine without a broker: this process also runs the housekeeping schedule that celery
# beat runs elsewhere (stale jobs, old files, due suggestion training).
from django.conf import settings  # noqa: E402

if settings.JOB_RUNNER == "thread":
    from coding.services.maintenance import start_ticker  # noqa: E402

    start_ticker()
