from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coding.exchange import export_qdpx
from coding.models import Project


class Command(BaseCommand):
    help = "Export a project as a REFI-QDA project (.qdpx) for NVivo, MAXQDA, ATLAS.ti, QualCoder."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project_id", type=int)
        parser.add_argument("--out", required=True, help="the .qdpx file to write")

    def handle(self, *args: Any, **opts: Any) -> None:
        project = Project.objects.filter(pk=opts["project_id"]).first()
        if project is None:
            raise CommandError(f"no project {opts['project_id']}")
        out = Path(opts["out"])
        with out.open("wb") as fh:
            stats = export_qdpx(fh, project)
        self.stdout.write(
            f"{out}: {stats.sources} sources, {stats.codes} codes, {stats.selections} selections, "
            f"{stats.codings} codings, {stats.notes} notes, {stats.cases} cases, "
            f"{stats.users} users, {out.stat().st_size // 1024} KB"
        )
