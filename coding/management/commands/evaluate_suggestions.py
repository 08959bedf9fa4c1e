"""Evaluate coding suggestions against gold codes: keywords alone, the model alone, both.

    python manage.py evaluate_suggestions GOLD.jsonl [--train TRAIN.jsonl] [--project ID]

Each JSONL line is {"text": "...", "codes": ["Kompetanse", ...]} (other fields ignored; code
names as in the project's codebook). The model learns from TRAIN, or from the project's codings
when no TRAIN is given, and never from GOLD: training texts that overlap a GOLD text are dropped
and counted. Prints one JSON object with per-code precision, recall and F1, and micro and macro
F1, for each of the three.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from coding import classifier, suggestions
from coding.models import Code, Project


def read_jsonl(path: Path, names: set[str] | None = None) -> list[tuple[str, set[str]]]:
    """(text, codes) of each line; a CommandError names the file and line of a bad one (with
    ``names``, also of a code not in the codebook)."""
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror or exc}") from exc
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path}:{n}: not JSON ({exc.msg})") from exc
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise CommandError(f'{path}:{n}: a line needs "text" (a string)')
        codes = item.get("codes", [])
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise CommandError(f'{path}:{n}: "codes" must be a list of code names')
        if names is not None and set(codes) - names:
            raise CommandError(
                f"{path}:{n}: not in the project's codebook: {sorted(set(codes) - names)}"
            )
        out.append((item["text"], set(codes)))
    return out


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def overlaps_gold(text: str, gold: set[str]) -> bool:
    """Whether a training text is a GOLD text, or holds one, or lies inside one."""
    t = _norm(text)
    return t in gold or any(g in t or t in g for g in gold if g and t)


class Command(BaseCommand):
    help = "Evaluate suggestions (keywords, learned model, both) on a GOLD JSONL file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("gold", type=Path)
        parser.add_argument("--train", type=Path, help="JSONL to learn from (else the project)")
        parser.add_argument("--project", type=int, help="project id (keywords, code names)")
        parser.add_argument(
            "--codes", help="evaluate only these codes (comma-separated names)", default=""
        )
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, gold: Path, train: Path | None, project: int | None, **opts) -> None:
        project_obj = self._project(project, needed=train is None)
        names: set[str] | None = None
        keywords: dict[str, list[str]] = {}
        if project_obj is not None:
            codes = list(Code.objects.filter(codebook__project=project_obj))
            names = {c.name for c in codes}
            keywords = {
                c.name: classifier.keyword_lines(c.keywords) for c in codes if c.keywords.strip()
            }
        gold_items = read_jsonl(gold, names)
        only = {c.strip() for c in opts["codes"].split(",") if c.strip()}
        if names is not None and only - names:
            raise CommandError(f"--codes: not in the codebook: {sorted(only - names)}")

        gold_texts = {_norm(t) for t, _c in gold_items}
        if train is not None:
            train_items = read_jsonl(train, names)
            kept = [(t, c) for t, c in train_items if not overlaps_gold(t, gold_texts)]
            train_lemmas = classifier.text_lemmas(t for t, _c in kept)
            train_examples = [
                (lem, codes) for lem, (_t, codes) in zip(train_lemmas, kept, strict=True)
            ]
            training = {
                "source": str(train),
                "texts": len(train_items),
                "dropped_overlapping_gold": len(train_items) - len(kept),
            }
        else:
            train_examples, training = self._project_examples(project_obj, gold_texts)

        gold_lemmas = classifier.text_lemmas(t for t, _c in gold_items)
        gold_codes = [c for _t, c in gold_items]
        if only:
            keywords = {k: v for k, v in keywords.items() if k in only}
        matcher = classifier.KeywordMatcher(keywords)
        kw_pred = [set(matcher.match(lem)) for lem in gold_lemmas]

        model_info: dict
        try:
            model = classifier.train(train_examples, seed=opts["seed"])
        except classifier.TooFewCodings as exc:
            model = None
            model_info = {"trained": False, "message": suggestions.too_few_message(exc)}
            model_pred = [set() for _ in gold_items]
        else:
            model_pred = [set(p) for p in model.predict(gold_lemmas)]
            model_info = {
                "trained": True,
                "codes_learned": model.labels,
                "codes_skipped_too_few": model.skipped,
                "threshold": model.threshold,
                **model.metrics,
            }
        combined = [k | m for k, m in zip(kw_pred, model_pred, strict=True)]

        labels = set().union(*gold_codes, *kw_pred, *model_pred) if gold_codes else set()
        if only:
            labels &= only
            gold_codes = [c & only for c in gold_codes]
            kw_pred, model_pred, combined = (
                [p & only for p in preds] for preds in (kw_pred, model_pred, combined)
            )
        result = {
            "gold": {
                "file": str(gold),
                "texts": len(gold_items),
                "with_codes": sum(1 for c in gold_codes if c),
            },
            "training": {**training, "examples": len(train_examples), "model": model_info},
            "codes": sorted(labels),
            "keywords": classifier.scores(gold_codes, kw_pred, labels),
            "model": classifier.scores(gold_codes, model_pred, labels) if model else None,
            "combined": classifier.scores(gold_codes, combined, labels),
        }
        self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))

    def _project(self, project_id: int | None, *, needed: bool) -> Project | None:
        if project_id is not None:
            project = Project.objects.filter(pk=project_id).first()
            if project is None:
                raise CommandError(f"--project {project_id}: no such project")
            return project
        projects = list(Project.objects.all()[:2])
        if len(projects) == 1:
            return projects[0]
        if needed or projects:
            raise CommandError(
                "name the project with --project ID (its codebook gives the keywords"
                + (", and its codings the training data)" if needed else ")")
            )
        return None

    def _project_examples(self, project: Project, gold_texts: set[str]):
        data = suggestions.examples(project)
        code_names = dict(Code.objects.filter(codebook__project=project).values_list("pk", "name"))
        texts = suggestions.passage_texts([p for p, _c in data])
        kept = [
            (p.lemmas, {code_names[c] for c in codes})
            for (p, codes), text in zip(data, texts, strict=True)
            if not overlaps_gold(text, gold_texts)
        ]
        return kept, {
            "source": f"project {project.pk}",
            "texts": len(data),
            "dropped_overlapping_gold": len(data) - len(kept),
        }
