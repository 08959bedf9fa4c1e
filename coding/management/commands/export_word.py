import io
import json
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import Http404
from django.utils import translation

from coding import access
from coding.exports.jobs import MAX_CONTEXT_WORDS, export_to_file
from coding.exports.template import check_template
from coding.exports.word import LAYOUTS
from coding.models import Project
from coding.people import display_name


class Command(BaseCommand):
    help = "Export a project's coded excerpts to a Word file (the same export as the web page)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project_id", type=int)
        parser.add_argument("--layout", choices=LAYOUTS, required=True)
        parser.add_argument("--out", required=True, help="the .docx file to write")
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default=settings.LANGUAGE_CODE,
        )
        parser.add_argument("--memos", action="store_true", help="add memos on the excerpts")
        parser.add_argument(
            "--key-quotes", action="store_true", help="only passages marked as key quotes"
        )
        parser.add_argument(
            "--context", type=int, default=0, help=f"words of context (0-{MAX_CONTEXT_WORDS})"
        )
        parser.add_argument("--no-codebook", action="store_true")
        parser.add_argument("--no-excerpts-appendix", action="store_true")
        parser.add_argument("--template", help="a .docx or .dotx whose styles to use")
        parser.add_argument(
            "--user", help="export as this member (checks access; named on the title page)"
        )
        parser.add_argument(
            "--basis",
            default="default",
            help="coder basis: default, consensus, merged, sum or coder:<user id>",
        )
        parser.add_argument("--filters", help="selection: the matrix filter as JSON")
        parser.add_argument("--cell", help="selection: one matrix cell as JSON")
        parser.add_argument(
            "--memo-filters",
            help='memos-by-code/-by-case: the memo overview\'s filter as JSON, e.g. {"author": 3}',
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        user = None
        project: Project | None
        if opts["user"]:
            user = get_user_model().objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"no user {opts['user']!r}")
            try:
                project = access.get_project_for_user(user, opts["project_id"])
            except Http404 as exc:
                raise CommandError(f"{opts['user']} is not a member of that project") from exc
        else:
            project = Project.objects.filter(pk=opts["project_id"]).first()
            if project is None:
                raise CommandError(f"no project {opts['project_id']}")
        params = {
            "layout": opts["layout"],
            "memos": opts["memos"],
            "key_quotes": opts["key_quotes"],
            "context_words": opts["context"],
            "codebook": not opts["no_codebook"],
            "excerpts_appendix": not opts["no_excerpts_appendix"],
            "basis": opts["basis"],
            "filters": _json(opts["filters"], "--filters"),
            "cell": _json(opts["cell"], "--cell"),
            "memo_filters": _json(opts["memo_filters"], "--memo-filters"),
        }
        template = None
        if opts["template"]:
            path = Path(opts["template"])
            try:
                with path.open("rb") as fh:
                    template = check_template(fh, path.name)
            except (OSError, ValidationError) as exc:
                raise CommandError(_message(exc)) from exc
        out = Path(opts["out"])
        started = time.perf_counter()
        try:
            with translation.override(opts["language"]), out.open("wb") as fh:
                stats = export_to_file(
                    fh,
                    project=project,
                    params=params,
                    made_by=display_name(user),
                    template=io.BytesIO(template) if template else None,
                )
        except ValidationError as exc:
            out.unlink(missing_ok=True)
            raise CommandError(_message(exc)) from exc
        self.stdout.write(
            f"{out}: {f'{stats.memos} memos, ' if stats.memos else ''}"
            f"{stats.excerpts} excerpts, {stats.quotes} quotes, "
            f"{stats.chapters} chapters, {out.stat().st_size // 1024} KB, "
            f"{time.perf_counter() - started:.1f} s"
        )


def _json(raw: str | None, flag: str):
    if not raw:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{flag} is not valid JSON: {exc}") from exc


def _message(exc: Exception) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
