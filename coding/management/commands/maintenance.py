from typing import Any

from django.core.management.base import BaseCommand

from coding.services.maintenance import fail_stale_jobs, purge_old_job_files


class Command(BaseCommand):
    help = (
        "Mark jobs whose worker died as failed and delete expired export and draft files. "
        "celery beat runs this on its own; without a broker, run it from cron or a timer."
    )

    def handle(self, *args: Any, **opts: Any) -> None:
        failed = fail_stale_jobs()
        purged = purge_old_job_files()
        self.stdout.write(
            f"{failed} stale job(s) failed; {purged['results']} export file(s), "
            f"{purged['drafts']} abandoned import(s) and {purged['failed_inputs']} upload(s) of "
            "failed imports deleted."
        )
