"""The REFI-QDA import job: read the kept upload again and write it, all or nothing."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from coding.exchange.read import read_exchange
from coding.exchange.write import import_plan
from coding.models import Job


def run_import_job(job: Job, progress: Callable[[int], None]) -> str:
    with job.input_file.open("rb") as fh:
        plan = read_exchange(fh, job.input_name)
    progress(5)
    p = job.params
    new_name = p.get("new_project_name") or ""
    result = import_plan(
        plan,
        actor=job.created_by,
        project=None if new_name else job.project,
        new_project_name=new_name,
        user_map=p.get("user_map") or {},
        merge_codes=p.get("merge_codes", True),
        speakers=p.get("speakers") or None,
        mappable_user_ids=set(job.project.memberships.values_list("user_id", flat=True)),
        progress=lambda pct: progress(5 + pct * 95 // 100),
    )
    job.params = {**p, "result": result.as_json()}
    Job.objects.filter(pk=job.pk).update(params=job.params)
    c = result.created
    return _(
        "Imported into “%(project)s”: %(sources)s sources, %(codes)s codes, %(codings)s codings, "
        "%(notes)s notes; %(left)s items left out."
    ) % {
        "project": result.project.name,
        "sources": c.get("sources", 0),
        "codes": c.get("codes", 0),
        "codings": c.get("codings", 0),
        "notes": c.get("notes", 0),
        "left": len(result.left_out),
    }
