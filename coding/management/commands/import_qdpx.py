import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from coding.exchange import read_exchange
from coding.models import Project
from coding.services.exchange import import_plan


class Command(BaseCommand):
    help = (
        "Import a REFI-QDA project (.qdpx) or codebook (.qdc), all or nothing. REFI users become "
        "coder accounts that cannot log in until an owner invites them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--new-project", metavar="NAME")
        where.add_argument("--project", type=int, metavar="ID")
        parser.add_argument("--owner", help="user name of the new project's owner")
        parser.add_argument(
            "--keep-both",
            action="store_true",
            help="a code whose name the codebook has already is imported as a second code",
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        path = Path(opts["file"])
        project = owner = None
        if opts["project"] is not None:
            project = Project.objects.filter(pk=opts["project"]).first()
            if project is None:
                raise CommandError(f"no project {opts['project']}")
        if opts["owner"]:
            owner = get_user_model().objects.filter(username=opts["owner"]).first()
            if owner is None:
                raise CommandError(f"no user {opts['owner']!r}")
        try:
            with path.open("rb") as fh:
                plan = read_exchange(fh, path.name)
            result = import_plan(
                plan,
                actor=owner,
                project=project,
                new_project_name=opts["new_project"] or "",
                merge_codes=not opts["keep_both"],
            )
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        report = result.as_json()
        if opts["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"Imported into project {report['project']} “{report['project_name']}”:")
        for what, n in sorted(report["created"].items()):
            self.stdout.write(f"  {n} {what}")
        for name, account in sorted(report["users"].items()):
            self.stdout.write(f"  user “{name}” -> account {account}")
        if report["left_out"]:
            self.stdout.write("Left out:")
            for item in report["left_out"]:
                self.stdout.write(f"  {item['what']}: {item['why']}")
        else:
            self.stdout.write("Nothing was left out.")
