"""Write a project's coded passages as JSONL for ``evaluate_suggestions``.

    python manage.py make_suggestion_jsonl OUT.jsonl --project ID [--coder USER] [--case NAME]...

One line per passage (an informant's turn, see coding.language.suggestions) of every transcript
the coder coded in the chosen cases: {"text", "codes", "case", "transcript", "start", "end"}; a
passage without codes gets "codes": [] (the coder read it and chose not to code it). For the demo
corpus, train on coder A's codings of two case municipalities and evaluate on the third:

    python manage.py make_suggestion_jsonl train.jsonl --project 1 --coder forsker_a \\
        --case Drammen --case Sandnes
    python manage.py make_suggestion_jsonl gold.jsonl --project 1 --coder forsker_a \\
        --case "Oslo – bydel Stovner"
    python manage.py evaluate_suggestions gold.jsonl --train train.jsonl --project 1
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from coding.language import suggestions
from coding.models import Case, Code, Project, Transcript


class Command(BaseCommand):
    help = "Write coded passages of a project as JSONL (for evaluate_suggestions)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", type=Path)
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument("--coder", help="user name of the coder (default: every coder)")
        parser.add_argument("--case", action="append", default=[], help="case name (repeat)")

    def handle(
        self, *args: Any, out: Path, project: int, coder: str | None, case: list[str], **opts: Any
    ) -> None:
        project_obj = Project.objects.filter(pk=project).first()
        if project_obj is None:
            raise CommandError(f"--project {project}: no such project")
        user = None
        if coder:
            user = get_user_model().objects.filter(username=coder).first()
            if user is None:
                raise CommandError(f"--coder {coder}: no such user")
        cases = {c.name: c.pk for c in Case.objects.filter(project=project_obj)}
        unknown = [name for name in case if name not in cases]
        if unknown:
            raise CommandError(f"--case: not in project {project}: {unknown}")
        data = suggestions.examples(
            project_obj, coder=user, case_ids=[cases[n] for n in case] if case else None
        )
        names = dict(Code.objects.filter(codebook__project=project_obj).values_list("pk", "name"))
        info = {
            t.pk: (t.title, t.case.name)
            for t in Transcript.objects.filter(case__project=project_obj).select_related("case")
        }
        texts = suggestions.passage_texts([p for p, _c in data])
        with out.open("w", encoding="utf-8") as fh:
            for (p, codes), text in zip(data, texts, strict=True):
                title, case_name = info[p.transcript_id]
                line = {
                    "text": text,
                    "codes": sorted(names[c] for c in codes),
                    "case": case_name,
                    "transcript": title,
                    "start": p.start,
                    "end": p.end,
                }
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")
        coded = sum(1 for _p, c in data if c)
        self.stdout.write(f"{out}: {len(data)} passages, {coded} with codes")
