"""gunicorn settings for the web processes; each value can be overridden from the environment.

gunicorn casestudy.wsgi --config deploy/gunicorn.conf.py
"""

import multiprocessing
import os

# Behind nginx on the same machine: loopback only. On a separate web machine bind the private
# address the proxy reaches (GUNICORN_BIND=10.0.0.5:8000), never a public one.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: pages are short database reads and writes; imports and exports go to Celery.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Long enough for the biggest page (a full matrix), short enough to free a stuck worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (memory held by spaCy or large uploads is given back).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# Load the app before forking: faster start, shared memory; each worker opens its own
# database connection after the fork.
preload_app = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# X-Forwarded-* from the proxy are trusted only from these addresses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "casestudy-web"
