from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from coding.exchange import export_qdc
from coding.models import Project


class Command(BaseCommand):
    help = "Export a project's codebook as a REFI-QDA codebook (.qdc)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project_id", type=int)
        parser.add_argument("--out", required=True, help="the .qdc file to write")

    def handle(self, *args: Any, **opts: Any) -> None:
        project = Project.objects.filter(pk=opts["project_id"]).first()
        if project is None:
            raise CommandError(f"no project {opts['project_id']}")
        out = Path(opts["out"])
        try:
            with out.open("wb") as fh:
                n = export_qdc(fh, project)
        except ValidationError as exc:
            out.unlink(missing_ok=True)
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"{out}: {n} codes")
