"""Krippendorff's unitized alphas per code, per domain and pooled (coding.analysis.unitized_stats).

``build(project, coder_ids=..., data=...)`` takes the agreement page's scope
(``agreement.load_scope``: the matrix filters, the transcripts every chosen coder coded) and
computes over the transcripts' texts as continua, one per transcript:

- per chosen code: |uα (alpha-binary) of the code (its own codings, or with its sub-codes when
  sub-codes are rolled up);
- per *domain*, a chosen code with sub-codes (ATLAS.ti's semantic domain): |uα of the domain
  (any of its codes against none) and cuα, whose values are the domain's categories: each direct
  sub-code with everything below it, and the parent code's own codings as one more category
  when a chosen coder used the parent code itself;
- pooled: |uα of all chosen codes together and Cuα, ATLAS.ti's cu-alpha over all domains: the
  top-most domains' cuα observed and expected disagreements summed, so each category is compared
  only with the categories of its own domain (codes of different domains may cover the same
  text, as ATLAS.ti allows). With one domain, Cuα is its cuα. (Krippendorff's papers define
  cuα for one variable; this pooling over domains is our reading of ATLAS.ti's Cu-alpha.)

Each figure comes with the number of characters, those coded by any coder (|uα says nothing
below ``MIN_CODED``) and those coded by two or more (cuα and Cuα say nothing below it), and a
95 % bootstrap interval that resamples transcripts, as every agreement figure does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _

from coding.analysis import agreement, stats
from coding.analysis import unitized_stats as us
from coding.analysis.specs import CodeTree
from coding.models import Code, Project

MIN_CODED = agreement.MIN_CODED["character"]
STATISTICS = ("u_alpha_binary", "cu_alpha", "Cu_alpha")

DEFINITIONS = [
    (
        _("Unitized alphas"),
        _(
            "Krippendorff's alphas for continua (Krippendorff, Mathet, Bouvry and Widlöcher "
            "2016): each transcript's text is a continuum of characters that each coder divides "
            "into coded stretches (a coder's overlapping or touching codings are one stretch) and "
            "gaps, and the stretches' lengths and overlaps are compared. Several transcripts "
            "count as one continuum of their summed lengths."
        ),
    ),
    (
        _("|uα (alpha-binary)"),
        _(
            "Do the coders agree on which text is coded with the code (or with any code of the "
            "domain) and which is not? 1 − observed / expected disagreement, where chance "
            "pairs a coded stretch with the rest of the text but never with itself."
        ),
    ),
    (
        _("Domain"),
        _(
            "A code with sub-codes. Its categories are its sub-codes (each with the codes below "
            "it) and, as one more category, the code's own codings where a coder used it."
        ),
    ),
    (
        _("cuα (cu-alpha)"),
        _(
            "Per domain: of the text two coders both coded with the domain, do they give it the "
            "same category? Where one coder gave the same text two categories, it counts for "
            "each."
        ),
    ),
    (
        _("Cuα (Cu-alpha)"),
        _(
            "All domains together: each domain's cu-alpha disagreements, observed and expected, "
            "summed over the domains, so a category is compared only with the categories of "
            "its own domain. With one domain it is that domain's cu-alpha."
        ),
    ),
    (
        _("Too little coding (unitized)"),
        _(
            "Fewer than 200 characters coded by any coder (|uα), or coded by two or more "
            "coders (cuα, Cuα): no figure is given."
        ),
    ),
]


@dataclass
class UFigure:
    """The unitized alphas of one code, domain or pooled set, over the scope's transcripts."""

    characters: int
    coded: int  # characters coded by any coder
    shared: int  # characters coded by two or more coders (with any value)
    values: dict[str, float | None]
    intervals: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)

    def too_little(self, name: str) -> bool:
        return self.coded < MIN_CODED if name == "u_alpha_binary" else self.shared < MIN_CODED

    def shown(self, name: str) -> float | None:
        return None if self.too_little(name) else self.values.get(name)

    def status(self, name: str) -> str:
        if name not in self.values:
            return "not_applicable"
        if self.too_little(name):
            return "too_little"
        return "undefined" if self.values[name] is None else "ok"

    def interval(self, name: str) -> tuple[float, float] | None:
        return None if self.too_little(name) else self.intervals.get(name)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "unit": "character",
            "units": self.characters,
            "coded_units": self.coded,
            "shared_units": self.shared,
        }
        for name in STATISTICS:
            value = self.shown(name) if name in self.values else None
            ci = self.interval(name) if name in self.values else None
            out[name] = value
            out[f"{name}_ci95"] = list(ci) if ci else None
            out[f"{name}_status"] = self.status(name)
        if self.categories:
            out["categories"] = self.categories
        return out


@dataclass
class URow:
    code: Code
    figure: UFigure  # |uα of the code
    domain: UFigure | None  # |uα and cuα of the code with its sub-codes, when it has some
    position: int = 0


@dataclass
class UReport:
    coders: list[Any]
    transcripts: list[dict[str, Any]]
    rows: list[URow]  # weakest |uα first, no figure last
    pooled: UFigure

    def as_json(self) -> dict[str, Any]:
        """Per code name: the code's |uα, and cuα when the code is a domain (see DEFINITIONS);
        Cuα is over all chosen codes, so it is given for the pooled figure only."""
        codes: dict[str, Any] = {}
        for r in self.rows:
            entry = r.figure.as_json()
            if r.domain is not None:
                entry["cu_alpha"] = r.domain.shown("cu_alpha")
                entry["cu_alpha_ci95"] = list(ci) if (ci := r.domain.interval("cu_alpha")) else None
                entry["cu_alpha_status"] = r.domain.status("cu_alpha")
                entry["domain"] = r.domain.as_json()
            codes[r.code.name] = entry
        return {
            "unit": "unitized",
            "continuum": "the text of each transcript, in characters (code points)",
            "coders": [u.username for u in self.coders],
            "transcripts": len(self.transcripts),
            "pooled": self.pooled.as_json(),
            "codes": codes,
        }


def _clean(x: Any) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


def _figure(
    rows: np.ndarray,
    layout: us.Layout,
    m: int,
    weights: np.ndarray,
    names: Sequence[str],
    categories: list[str] | None = None,
) -> UFigure:
    """``rows``: one continuum row per transcript; ``names`` the statistics to compute."""
    total = rows.sum(axis=0)
    length, coded, shared = layout.extras(total)
    functions = {
        "u_alpha_binary": us.u_alpha_binary,
        "cu_alpha": us.cu_alpha,
        "Cu_alpha": us.cu_alpha,
    }
    fig = UFigure(
        characters=int(round(float(length))),
        coded=int(round(float(coded))),
        shared=int(round(float(shared))),
        values={n: _clean(functions[n](total, layout, m)) for n in names},
        categories=categories or [],
    )
    if len(rows) >= 2 and len(weights):
        resampled = weights @ rows
        for n in names:
            fig.intervals[n] = stats.interval(functions[n](resampled, layout, m))
    return fig


def build(
    project: Project,
    *,
    coder_ids: Sequence[int],
    data: Mapping[str, Any] | None = None,
    resamples: int = agreement.RESAMPLES,
) -> UReport:
    """The unitized alphas of ``coder_ids`` (two or more) over the scope of ``data``."""
    coder_ids = list(dict.fromkeys(coder_ids))
    if len(coder_ids) < 2:
        raise ValueError("agreement needs two or more coders")
    data = dict(data.lists()) if isinstance(data, MultiValueDict) else dict(data or {})
    rollup = data.get("subcodes") in ("rollup", ["rollup"])  # a QueryDict's lists or a value
    tree = CodeTree.of(project)
    # Ids from outside: only the project's codes count (load_scope checks the rest).
    chosen_ids = {int(pk) for pk in data.get("codes") or [] if str(pk).isdigit()} & set(tree.by_id)
    chosen = [c for c in tree.codes if c.pk in chosen_ids] or list(tree.codes)
    # Every code under a chosen one is read on its own; the domains are built from them here.
    wanted = set().union(*(tree.subtree(c.pk) for c in chosen)) if chosen else set()
    loaded = dict(data)
    loaded["codes"] = [str(pk) for pk in sorted(wanted)]
    loaded["subcodes"] = "own"
    scope = agreement.load_scope(project, coder_ids=coder_ids, data=loaded)
    return report_of(scope, tree=tree, chosen=chosen, rollup=rollup, resamples=resamples)


def report_of(
    scope: agreement.Scope,
    *,
    tree: CodeTree,
    chosen: list[Code],
    rollup: bool,
    resamples: int = agreement.RESAMPLES,
) -> UReport:
    m = len(scope.coders)
    n_t = len(scope.transcripts)
    weights = stats.bootstrap_weights(n_t, resamples) if n_t >= 2 else np.zeros((0, n_t))
    empty = np.zeros((0, 2), dtype=np.int64)
    children = tree.hierarchy.children

    def spans(code_ids: set[int], t_id: int, coder_id: int) -> np.ndarray:
        parts = [scope.spans.get((c, t_id, coder_id), ()) for c in code_ids]
        flat = [s for p in parts for s in p]
        return np.array(flat, dtype=np.int64).reshape(-1, 2) if flat else empty

    def rows_of(values: list[set[int]]) -> np.ndarray:
        """One continuum row per transcript, the values given as sets of code ids."""
        return np.array(
            [
                us.continuum(
                    [[spans(v, t["pk"], u.pk) for v in values] for u in scope.coders],
                    t["length"],
                )
                for t in scope.transcripts
            ]
        ).reshape(n_t, us.Layout(len(values)).size)

    binary = us.Layout(1)
    out_rows = []
    domains: dict[int, tuple[np.ndarray, us.Layout]] = {}  # code -> its cuα rows
    for position, code in enumerate(chosen):
        own = tree.subtree(code.pk) if rollup else {code.pk}
        fig = _figure(rows_of([own]), binary, m, weights, ["u_alpha_binary"])
        domain = None
        kids = children.get(code.pk, [])
        if kids:
            values = [tree.subtree(k.pk) for k in kids]
            names = [k.name for k in kids]
            if any(key[0] == code.pk for key in scope.spans):  # the parent's own codings
                values.insert(0, {code.pk})
                names.insert(0, str(_("%(code)s (own codings)") % {"code": code.name}))
            whole = tree.subtree(code.pk)
            domain = _figure(rows_of([whole]), binary, m, weights, ["u_alpha_binary"])
            layout = us.Layout(len(values))
            cu_rows = rows_of(values)
            domains[code.pk] = (cu_rows, layout)
            cu = _figure(cu_rows, layout, m, weights, ["cu_alpha"], names)
            domain.values["cu_alpha"] = cu.values["cu_alpha"]
            domain.intervals["cu_alpha"] = cu.intervals.get("cu_alpha")
            domain.categories = names
        out_rows.append(URow(code=code, figure=fig, domain=domain, position=position))

    chosen_ids = {c.pk for c in chosen}
    tops = [c for c in chosen if not any(a in chosen_ids for a in tree.ancestors(c.pk))]
    everything = set().union(*(tree.subtree(c.pk) for c in tops)) if tops else set()
    pooled = _figure(rows_of([everything]), binary, m, weights, ["u_alpha_binary"])
    # Cuα: the top-most domains' cuα disagreements summed (codes of different domains may
    # cover the same text; a category is only ever compared with its own domain's).
    outer = [c for c in domains if not any(a in domains for a in tree.ancestors(c))]
    if outer:
        observed, expected = np.zeros(1 + len(weights)), np.zeros(1 + len(weights))
        for c in outer:
            d_rows, layout = domains[c]
            both = np.concatenate([d_rows.sum(axis=0)[None], weights @ d_rows])
            o, e = us.cu_disagreements(both, layout, m)
            observed, expected = observed + o, expected + e
        alphas = us.alpha_of(observed, expected)
        pooled.values["Cu_alpha"] = _clean(alphas[0])
        pooled.intervals["Cu_alpha"] = stats.interval(alphas[1:]) if len(weights) else None
        pooled.categories = [tree.by_id[c].name for c in outer]

    def weakest(r: URow) -> tuple[int, float, str]:
        a = r.figure.shown("u_alpha_binary")
        return (1, 0.0, r.code.name) if a is None else (0, a, r.code.name)

    out_rows.sort(key=weakest)
    return UReport(
        coders=scope.coders,
        transcripts=scope.transcripts,
        rows=out_rows,
        pooled=pooled,
    )
