"""manage.py agreement PROJECT --coders A B [--codes ...] [--unit ...] [--json]

The intercoder agreement of the agreement page (coding.analysis.agreement), for scripts and for
the record: per code (weakest first) and pooled, over the transcripts every chosen coder coded.
``--unit unitized`` prints Krippendorff's unitized alphas instead (coding.analysis.unitized).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from coding.analysis import agreement, unitized
from coding.models import Code, Project


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


class Command(BaseCommand):
    help = "Print intercoder agreement per code and pooled (JSON with --json)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", help="project id or name")
        parser.add_argument("--coders", nargs="+", required=True, help="two or more usernames")
        parser.add_argument("--codes", nargs="*", default=[], help="code names (default: all)")
        parser.add_argument("--rollup", action="store_true", help="count sub-codes in parents")
        parser.add_argument(
            "--unit",
            choices=[*agreement.UNITS, "unitized"],
            default="character",
            help="unitized: Krippendorff's alpha-binary, cu-alpha and Cu-alpha over the text",
        )
        parser.add_argument(
            "--threshold",
            type=float,
            default=agreement.DEFAULT_THRESHOLD * 100,
            help="overlap percentage for --unit passage (default 90)",
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        project = self._project(opts["project"])
        users = {
            u.username: u for u in get_user_model().objects.filter(username__in=opts["coders"])
        }
        missing = [name for name in opts["coders"] if name not in users]
        if missing:
            raise CommandError(f"no such user: {', '.join(missing)}")
        data: dict = {}
        if opts["codes"]:
            codes = {c.name: c for c in Code.objects.filter(codebook__project=project)}
            unknown = [n for n in opts["codes"] if n not in codes]
            if unknown:
                raise CommandError(f"no such code in the project: {', '.join(unknown)}")
            data["codes"] = [str(codes[n].pk) for n in opts["codes"]]
            data["subcodes"] = "rollup" if opts["rollup"] else "own"
        elif opts["rollup"]:
            data["subcodes"] = "rollup"
        coder_ids = [users[n].pk for n in opts["coders"]]
        if opts["unit"] == "unitized":
            self._unitized(project, coder_ids, data, opts["json"])
            return
        try:
            report = agreement.build(
                project,
                coder_ids=coder_ids,
                data=data,
                unit=opts["unit"],
                threshold=opts["threshold"] / 100,
            )
        except (ValueError, ValidationError) as exc:
            raise CommandError(str(exc)) from exc
        if opts["json"]:
            self.stdout.write(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
            return
        self._table(report)

    def _unitized(self, project: Project, coder_ids: list[int], data: dict, as_json: bool) -> None:
        try:
            report = unitized.build(project, coder_ids=coder_ids, data=data)
        except (ValueError, ValidationError) as exc:
            raise CommandError(str(exc)) from exc
        if as_json:
            self.stdout.write(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
            return
        w = self.stdout.write
        w(
            f"{len(report.transcripts)} transcripts coded by "
            f"{', '.join(u.username for u in report.coders)}; unit: unitized (characters)"
        )
        w(
            f"{'code':40} {'chars':>9} {'coded':>8} {'|u-alpha':>8} "
            f"{'domain |u':>9} {'cu-alpha':>8}  95 % CI |u"
        )
        for r in report.rows:
            fig, dom = r.figure, r.domain
            ci = fig.interval("u_alpha_binary")
            note = "too little coding" if fig.too_little("u_alpha_binary") else ""
            if ci:
                note = f"{ci[0]:.3f}–{ci[1]:.3f}"
            cu = _fmt(dom.shown("cu_alpha")) if dom else ""
            du = _fmt(dom.shown("u_alpha_binary")) if dom else ""
            w(
                f"{r.code.name[:40]:40} {fig.characters:>9} {fig.coded:>8} "
                f"{_fmt(fig.shown('u_alpha_binary')):>8} {du:>9} {cu:>8}  {note}"
            )
        p = report.pooled
        w(
            f"{'(pooled)':40} {p.characters:>9} {p.coded:>8} "
            f"{_fmt(p.shown('u_alpha_binary')):>8} {'':>9} {'':>8}  "
            f"Cu-alpha {_fmt(p.shown('Cu_alpha'))}"
        )

    def _project(self, ref: str) -> Project:
        qs = Project.objects.filter(pk=int(ref)) if ref.isdigit() else Project.objects.none()
        project = qs.first() or Project.objects.filter(name=ref).first()
        if project is None:
            raise CommandError(f"no such project: {ref}")
        return project

    def _table(self, report: agreement.Report) -> None:
        two = report.two_coders
        w = self.stdout.write
        w(
            f"{len(report.transcripts)} transcripts coded by "
            f"{', '.join(u.username for u in report.coders)}; unit: {report.unit}"
            + (f" (overlap ≥ {report.threshold:.0%})" if report.unit == "passage" else "")
        )
        head = "kappa" if two else "fleiss"
        w(f"{'code':40} {'units':>9} {'coded':>8} {'percent':>8} {head:>7} {'alpha':>7}  95 % CI")
        for r in report.rows + [None]:
            fig = report.pooled if r is None else r.figure
            name = "(pooled)" if r is None else r.code.name
            kappa = fig.shown("cohen_kappa" if two else "fleiss_kappa")
            ci = fig.intervals.get("krippendorff_alpha")
            note = (
                "too little coding"
                if fig.too_little
                else (f"{ci[0]:.3f}–{ci[1]:.3f}" if ci else "")
            )
            pct = fig.shown("percent")
            w(
                f"{name[:40]:40} {fig.units:>9} {fig.coded:>8} "
                f"{'—' if pct is None else f'{100 * pct:.1f}':>8} {_fmt(kappa):>7} "
                f"{_fmt(fig.alpha):>7}  {note}"
            )
