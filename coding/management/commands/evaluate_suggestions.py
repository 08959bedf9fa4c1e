"""Evaluate coding suggestions against gold codes: keywords alone, the model alone, their union,
and what a researcher is shown (the transcript view's rule, ``classifier.suggest``).

    python manage.py evaluate_suggestions GOLD.jsonl [--train TRAIN.jsonl] [--project ID]
        [--codes A,B] [--seed S] [--seeds N]

Each JSONL line is {"text": "...", "codes": ["Kompetanse", ...]} (code names as in the project's
codebook; "case" and "transcript", as ``make_suggestion_jsonl`` writes them, group a TRAIN file's
passages for the grouped cross-validation; other fields are ignored). A GOLD file in which no
line has "codes" is refused. The model learns from TRAIN, or from the project's codings when no
TRAIN is given, and never from GOLD: training texts that overlap a GOLD text are dropped and
counted. Only codes that occur in GOLD are scored unless ``--codes`` names them. Prints one JSON
object: per-code precision, recall and F1, and micro and macro F1, for "keywords", "model",
"combined" (the union) and "shown"; "shown_minus_keywords" (the paired macro-F1 difference with
a bootstrap interval over GOLD passages); with ``--seeds N``, "seeds" gives the mean and
standard deviation of the macro-F1 over seeds S .. S+N-1.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coding.language import classifier, suggestions
from coding.models import Code, Project


def read_jsonl(
    path: Path, names: set[str] | None = None, *, groups: list | None = None, gold: bool = False
) -> list[tuple[str, set[str]]]:
    """(text, codes) of each line; a CommandError names the file and line of a bad one (with
    ``names``, also of a code not in the codebook). ``groups`` receives each line's
    (case, transcript), or its line number when it names no transcript. With ``gold``, a file
    in which no line has "codes" is refused."""
    out = []
    has_codes = False
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
        has_codes = has_codes or "codes" in item
        codes = item.get("codes", [])
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise CommandError(f'{path}:{n}: "codes" must be a list of code names')
        if names is not None and set(codes) - names:
            raise CommandError(
                f"{path}:{n}: not in the project's codebook: {sorted(set(codes) - names)}"
            )
        out.append((item["text"], set(codes)))
        if groups is not None:
            where = (item.get("case"), item.get("transcript"))
            groups.append(where if item.get("transcript") is not None else n)
    if gold and out and not has_codes:
        raise CommandError(
            f'{path}: no line has "codes": a gold file says which codes each text has '
            '(write "codes": [] for a text without codes)'
        )
    if gold and not out:
        raise CommandError(f"{path}: no texts")
    return out


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def overlaps_gold(text: str, gold: set[str]) -> bool:
    """Whether a training text is a GOLD text, or holds one, or lies inside one."""
    t = _norm(text)
    return t in gold or any(g in t or t in g for g in gold if g and t)


class Command(BaseCommand):
    help = "Evaluate suggestions (keywords, learned model, both) on a GOLD JSONL file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("gold", type=Path)
        parser.add_argument("--train", type=Path, help="JSONL to learn from (else the project)")
        parser.add_argument("--project", type=int, help="project id (keywords, code names)")
        parser.add_argument(
            "--codes", help="evaluate only these codes (comma-separated names)", default=""
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--seeds", type=int, default=1, help="train with N seeds; report mean and spread"
        )

    def handle(
        self, *args: Any, gold: Path, train: Path | None, project: int | None, **opts: Any
    ) -> None:
        project_obj = self._project(project, needed=train is None)
        names: set[str] | None = None
        keywords: dict[str, list[str]] = {}
        if project_obj is not None:
            codes = list(Code.objects.filter(codebook__project=project_obj))
            names = {c.name for c in codes}
            keywords = {
                c.name: classifier.keyword_lines(c.keywords) for c in codes if c.keywords.strip()
            }
        gold_items = read_jsonl(gold, names, gold=True)
        only = {c.strip() for c in opts["codes"].split(",") if c.strip()}
        if names is not None and only - names:
            raise CommandError(f"--codes: not in the codebook: {sorted(only - names)}")
        if opts["seeds"] < 1:
            raise CommandError("--seeds: at least 1")

        gold_texts = {_norm(t) for t, _c in gold_items}
        if train is not None:
            groups: list = []
            train_items = read_jsonl(train, names, groups=groups)
            keep = [not overlaps_gold(t, gold_texts) for t, _c in train_items]
            kept = [item for item, k in zip(train_items, keep, strict=True) if k]
            train_groups = [g for g, k in zip(groups, keep, strict=True) if k]
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
            if project_obj is None:  # _project(needed=True) returns one or raises
                raise CommandError("name the project with --project ID")
            train_examples, train_groups, training = self._project_examples(project_obj, gold_texts)

        gold_lemmas = classifier.text_lemmas(t for t, _c in gold_items)
        gold_codes = [c for _t, c in gold_items]
        # Keywords are matched for every code (the rule was chosen with all of them); --codes
        # and the GOLD set only limit what is scored.
        matcher = classifier.KeywordMatcher(keywords)
        kw_pred = [set(matcher.match(lem)) for lem in gold_lemmas]
        train_hits = [set(matcher.match(lem)) for lem, _c in train_examples]

        labels = set(only) if only else set().union(*gold_codes)
        gold_codes = [c & labels for c in gold_codes]

        def restrict(preds: list[set[str]]) -> list[set[str]]:
            return [p & labels for p in preds]

        def fit(seed: int) -> dict[str, Any]:
            try:
                trained = classifier.train(
                    train_examples, keyword_hits=train_hits, groups=train_groups, seed=seed
                )
            except classifier.TooFewCodings as exc:
                model: classifier.Model | None = None
                info: dict[str, Any] = {
                    "trained": False,
                    "message": suggestions.too_few_message(exc),
                }
                model_pred: list[set[str]] = [set() for _ in gold_items]
            else:
                model = trained
                model_pred = [set(p) for p in trained.predict(gold_lemmas)]
                info = {
                    "trained": True,
                    "seed": seed,
                    "codes_learned": trained.labels,
                    "codes_skipped_too_few": trained.skipped,
                    "threshold": trained.threshold,
                    "rules": {
                        code: {"with_keyword": r.with_keyword, "without_keyword": r.without_keyword}
                        for code, r in sorted(trained.rules.items())
                    },
                    **trained.metrics,
                }
            shown = [set(p) for p in classifier.suggest(gold_lemmas, matcher, model)]
            combined = [k | m for k, m in zip(kw_pred, model_pred, strict=True)]
            return {
                "info": info,
                "model": restrict(model_pred) if model else None,
                "combined": restrict(combined),
                "shown": restrict(shown),
            }

        runs = [fit(opts["seed"] + i) for i in range(opts["seeds"])]
        first = runs[0]
        kw = restrict(kw_pred)
        result = {
            "project": {"id": project_obj.pk, "name": project_obj.name} if project_obj else None,
            "gold": {
                "file": str(gold),
                "texts": len(gold_items),
                "with_codes": sum(1 for c in gold_codes if c),
            },
            "training": {**training, "examples": len(train_examples), "model": first["info"]},
            "codes": sorted(labels),
            "codes_scored": "named by --codes" if only else "the codes that occur in GOLD",
            "keywords": classifier.scores(gold_codes, kw, labels),
            "model": classifier.scores(gold_codes, first["model"], labels)
            if first["model"] is not None
            else None,
            "combined": classifier.scores(gold_codes, first["combined"], labels),
            "shown": classifier.scores(gold_codes, first["shown"], labels),
            "shown_minus_keywords": classifier.paired_bootstrap(
                gold_codes, first["shown"], kw, labels
            ),
        }
        if len(runs) > 1:
            result["seeds"] = {
                "seeds": [opts["seed"] + i for i in range(len(runs))],
                **{
                    what: _spread(
                        [
                            classifier.scores(gold_codes, r[what], labels)["macro_f1"]
                            for r in runs
                            if r[what] is not None
                        ]
                    )
                    for what in ("model", "combined", "shown")
                },
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
            (p, {code_names[c] for c in codes})
            for (p, codes), text in zip(data, texts, strict=True)
            if not overlaps_gold(text, gold_texts)
        ]
        return (
            [(p.lemmas, c) for p, c in kept],
            [p.transcript_id for p, _c in kept],
            {
                "source": f"project {project.pk}",
                "texts": len(data),
                "dropped_overlapping_gold": len(data) - len(kept),
            },
        )


def _spread(values: list[float]) -> dict:
    """Macro-F1 over seeds: mean, (sample) standard deviation, least and most."""
    if not values:
        return {}
    return {
        "macro_f1_mean": round(statistics.fmean(values), 4),
        "macro_f1_sd": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
        "macro_f1_min": min(values),
        "macro_f1_max": max(values),
        "macro_f1": values,
    }
