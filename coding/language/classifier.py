"""Coding suggestions without the database: a keyword matcher, a learned multi-label model, and
the figures that say how well either does.

Both work on lemmas (``nlp.get_nlp()``), so "brukerrådet" matches the keyword "brukerråd" and the
model sees one feature for every form of a word.

- ``KeywordMatcher``: each code's keywords and phrases (one per line on the code) matched by
  lemma with spaCy's ``PhraseMatcher(attr="LEMMA")``; also by lower-cased form, because the
  pipeline keeps a capitalised word inside a sentence as a name ("Husbanken" stays "husbanken").
- ``train``: spaCy ``textcat_multilabel`` with the bag-of-words architecture over content lemmas
  (stop words left out). Codes with fewer than ``MIN_POSITIVES`` examples are left out, and with
  fewer than ``MIN_CODED`` coded passages in all there is no model: ``TooFewCodings`` says so
  instead of suggesting noise.
- ``Rule`` and ``suggest``: the one decision rule for what a researcher is shown (the transcript
  view and ``evaluate_suggestions`` both call ``suggest``). Per code, two thresholds on the
  model's score: one for passages where a keyword of the code matched (0 = every keyword hit is
  shown) and one for passages without a keyword hit (None = never). Keywords alone, the union,
  the model alone and "keyword hits the model agrees with" are all points of that grid.
  ``choose_rules`` picks each code's point by cross-validation on the training examples only,
  with folds grouped by transcript (``grouped_folds``: every passage of a transcript, whoever
  coded it, is in one fold; the folds do not depend on the seed), maximising the code's F1 and so
  the macro-F1 of what is shown. A code keeps keywords alone unless the model's best point beats
  them in that cross-validation by ``RULE_MARGIN`` F1, so on the training folds the shown
  suggestions are never worse than keywords alone. What the model adds without a keyword must
  be, in that cross-validation, at least as precise as the keywords and right at least half of
  the time (``MIN_ADDED_PRECISION``), and a keyword hit is always shown (``WITH_KEYWORD``): both
  measured against text of another kind than the training text. The chosen point is the best
  of the grid after averaging each point's F1 with its grid neighbours, which keeps it from
  jumping between seeds on a lucky threshold.
- ``scores``: per label precision, recall, F1; micro and macro F1; ``paired_bootstrap`` for the
  difference of two predictions' macro-F1 with an interval over passages.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import spacy
from spacy.lang.nb.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.pipeline import TextCategorizer
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import fix_random_seed, minibatch
from spacy.vocab import Vocab

from coding import nlp

MIN_POSITIVES = 8
MIN_CODED = 30
EPOCHS = 20
BATCH_SIZE = 8
HASH_LENGTH = 2**14
THRESHOLDS = tuple(round(0.1 + 0.05 * i, 2) for i in range(13))  # 0.10 .. 0.70
DEFAULT_THRESHOLD = 0.3
CV_FOLDS = 3
MODEL_FORMAT = 2
# The rule's grid: threshold on the score where a keyword matched (0.0: always shown). Gating
# keyword hits by the model won in cross-validation but lost recall on text of another kind
# (the in-depth interviews), so a keyword hit is always shown; Rule keeps the field.
WITH_KEYWORD = (0.0,)
# ... and where none matched (None: never shown), strictest first.
WITHOUT_KEYWORD = (None, 0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2)
RULE_MARGIN = 0.02
MIN_ADDED_PRECISION = 0.5
GATE_KEYWORDS = False
_EMPTY = "_"


# --- lemmas ---------------------------------------------------------------------------------


def text_lemmas(texts: Iterable[str]) -> list[list[str]]:
    """Lemmas of each text as stored for sentences: every token but punctuation and space."""
    return [
        [t.lemma_ for t in doc if not (t.is_punct or t.is_space)]
        for doc in nlp.get_nlp().pipe(texts, batch_size=256)
    ]


def content_lemmas(lemmas: Sequence[str]) -> list[str]:
    """The model's features: lemmas with a letter that are not stop words."""
    return [w for w in lemmas if w not in STOP_WORDS and any(ch.isalpha() for ch in w)]


def _doc(vocab: Vocab, lemmas: Sequence[str]) -> Doc:
    words = list(lemmas) or [_EMPTY]
    return Doc(vocab, words=words, lemmas=words)


# --- keywords -------------------------------------------------------------------------------


def keyword_lines(raw: str) -> list[str]:
    return [" ".join(line.split()) for line in (raw or "").splitlines() if line.strip()]


class KeywordMatcher:
    """Codes whose keywords occur in a passage, matched by lemma."""

    def __init__(self, keywords: Mapping[str, Sequence[str]]) -> None:
        pipeline = nlp.get_nlp()
        self.vocab = pipeline.vocab
        self.matcher = PhraseMatcher(self.vocab, attr="LEMMA")
        self.labels: list[str] = []
        self._keyword_of: dict[tuple[str, tuple[str, ...]], str] = {}
        for label, lines in keywords.items():
            patterns = []
            for kw in lines:
                doc = pipeline(kw)
                tokens = [t for t in doc if not (t.is_punct or t.is_space)]
                if not tokens:
                    continue
                for words in (
                    tuple(t.lemma_ for t in tokens),
                    tuple(t.lower_ for t in tokens),
                ):
                    if (label, words) not in self._keyword_of:
                        self._keyword_of[(label, words)] = kw
                        patterns.append(_doc(self.vocab, words))
            if patterns:
                self.matcher.add(label, patterns)
                self.labels.append(label)

    def __bool__(self) -> bool:
        return bool(self.labels)

    def match(self, lemmas: Sequence[str]) -> dict[str, list[str]]:
        """Label -> the keywords found (as written on the code), for one passage's lemmas."""
        if not self.labels or not lemmas:
            return {}
        doc = _doc(self.vocab, lemmas)
        found: dict[str, list[str]] = {}
        for match_id, s, e in self.matcher(doc):
            label = self.vocab.strings[match_id]
            kw = self._keyword_of.get((label, tuple(lemmas[s:e])), " ".join(lemmas[s:e]))
            if kw not in found.setdefault(label, []):
                found[label].append(kw)
        return found


# --- the learned model ----------------------------------------------------------------------


class TooFewCodings(Exception):
    """Not enough coded passages to learn from; the message says how many there are and need."""

    def __init__(self, coded: int, per_label: dict[str, int]) -> None:
        self.coded = coded
        self.per_label = per_label
        super().__init__(f"{coded} coded passages; at least {MIN_CODED} needed")


@dataclass(frozen=True)
class Rule:
    """When a code is shown: the model's score must reach ``with_keyword`` where one of the
    code's keywords matched (0.0: always) and ``without_keyword`` where none did (None: never)."""

    with_keyword: float | None = 0.0
    without_keyword: float | None = None

    @property
    def uses_model(self) -> bool:
        return bool(self.with_keyword) or self.without_keyword is not None

    def shows(self, matched: bool, score: float | None) -> bool:
        threshold = self.with_keyword if matched else self.without_keyword
        if threshold is None:
            return False
        if threshold <= 0.0:
            return matched
        return score is not None and score >= threshold


KEYWORDS_ALONE = Rule(0.0, None)


@dataclass
class Model:
    """A trained model: the spaCy pipeline, its labels and one decision threshold."""

    pipeline: Language
    labels: list[str]
    threshold: float = DEFAULT_THRESHOLD
    positives: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    n_examples: int = 0
    rules: dict[str, Rule] = field(default_factory=dict)

    def scores(self, lemma_lists: Sequence[Sequence[str]]) -> list[dict[str, float]]:
        # spaCy types its pipes as plain callables; this one is the multi-label categorizer.
        textcat = cast(TextCategorizer, self.pipeline.get_pipe("textcat_multilabel"))
        docs = (_doc(self.pipeline.vocab, content_lemmas(lemmas)) for lemmas in lemma_lists)
        return [dict(doc.cats) for doc in textcat.pipe(docs, batch_size=256)]

    def predict(self, lemma_lists: Sequence[Sequence[str]]) -> list[dict[str, float]]:
        """Per passage: label -> score for the labels at or above the threshold."""
        return [
            {label: s for label, s in cats.items() if s >= self.threshold}
            for cats in self.scores(lemma_lists)
        ]

    def to_disk(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.pipeline.to_disk(path / "pipeline")
        meta = {
            "format": MODEL_FORMAT,
            "labels": self.labels,
            "threshold": self.threshold,
            "positives": self.positives,
            "skipped": self.skipped,
            "metrics": self.metrics,
            "n_examples": self.n_examples,
            "rules": {k: [r.with_keyword, r.without_keyword] for k, r in self.rules.items()},
        }
        (path / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def from_disk(cls, path: Path) -> Model:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        pipeline = spacy.load(path / "pipeline")
        if meta.get("format", 1) >= 2:
            rules = {k: Rule(*v) for k, v in meta.get("rules", {}).items()}
        else:  # a model of before the rule: the union it was shown as
            rules = {k: Rule(0.0, meta["threshold"]) for k in meta["labels"]}
        return cls(
            pipeline=pipeline,
            labels=meta["labels"],
            threshold=meta["threshold"],
            positives=meta.get("positives", {}),
            skipped=meta.get("skipped", {}),
            metrics=meta.get("metrics", {}),
            n_examples=meta.get("n_examples", 0),
            rules=rules,
        )


def _fit(
    examples: Sequence[tuple[Sequence[str], set[str]]],
    labels: Sequence[str],
    *,
    seed: int,
    epochs: int = EPOCHS,
    progress: Callable[[float], None] | None = None,
) -> Language:
    fix_random_seed(seed)
    pipeline = spacy.blank("nb")
    textcat = pipeline.add_pipe(
        "textcat_multilabel",
        config={
            "model": {
                "@architectures": "spacy.TextCatBOW.v3",
                "exclusive_classes": False,
                "ngram_size": 1,
                "no_output_layer": False,
                "length": HASH_LENGTH,
            }
        },
    )
    for label in labels:
        cast(TextCategorizer, textcat).add_label(label)  # spaCy types pipes as callables
    data = [
        Example.from_dict(
            _doc(pipeline.vocab, content_lemmas(lemmas)),
            {"cats": {label: float(label in codes) for label in labels}},
        )
        for lemmas, codes in examples
    ]
    optimizer = pipeline.initialize(lambda: data)
    rng = random.Random(seed)  # noqa: S311 (a seeded shuffle, not a secret)
    for epoch in range(epochs):
        rng.shuffle(data)
        for batch in minibatch(data, size=BATCH_SIZE):
            pipeline.update(batch, sgd=optimizer, drop=0.0)
        if progress:
            progress((epoch + 1) / epochs)
    return pipeline


def train(
    examples: Sequence[tuple[Sequence[str], set[str]]],
    *,
    keyword_hits: Sequence[Iterable[str]] | None = None,
    groups: Sequence[Hashable] | None = None,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> Model:
    """Learn the codes of ``examples`` (lemmas, codes); passages without codes are negatives.

    ``keyword_hits``: per example, the codes whose keywords match it (for choosing the shown
    rule); ``groups``: per example, its transcript (passages of one group share a fold).
    Raises TooFewCodings when there is nothing worth learning.
    """
    progress = progress or (lambda frac: None)
    per_label: dict[str, int] = {}
    for _lemmas, codes in examples:
        for c in codes:
            per_label[c] = per_label.get(c, 0) + 1
    coded = sum(1 for _lemmas, codes in examples if codes)
    labels = sorted(c for c, n in per_label.items() if n >= MIN_POSITIVES)
    if coded < MIN_CODED or not labels:
        raise TooFewCodings(coded, per_label)
    skipped = {c: n for c, n in per_label.items() if n < MIN_POSITIVES}
    kept = [(lemmas, codes & set(labels)) for lemmas, codes in examples]
    # Cross-validation on the training examples (folds grouped by transcript) picks the model's
    # own threshold, the shown rule per code, and gives honest figures.
    folds = grouped_folds(groups if groups is not None else list(range(len(kept))))
    held_scores: list[dict[str, float]] = [{} for _ in kept]
    for f, fold in enumerate(folds):
        held = set(fold)

        def fold_progress(frac: float, f: int = f) -> None:
            progress(0.8 * (f + frac) / (len(folds) + 1))

        pipeline = _fit(
            [kept[i] for i in range(len(kept)) if i not in held],
            labels,
            seed=seed,
            progress=fold_progress,
        )
        model = Model(pipeline=pipeline, labels=labels)
        for i, cats in zip(fold, model.scores([kept[i][0] for i in fold]), strict=True):
            held_scores[i] = cats
    gold = [codes for _lemmas, codes in kept]
    best = max(
        THRESHOLDS,
        key=lambda t: (
            scores(gold, [{lb for lb, s in c.items() if s >= t} for c in held_scores], labels)[
                "micro"
            ]["f1"],
            -abs(t - DEFAULT_THRESHOLD),
        ),
    )
    held_out = scores(gold, [{lb for lb, s in c.items() if s >= best} for c in held_scores], labels)
    hits = [set(h) for h in keyword_hits] if keyword_hits is not None else [set() for _ in kept]
    all_gold = [set(codes) for _lemmas, codes in examples]
    rules, rule_cv = choose_rules(all_gold, hits, held_scores, labels)
    pipeline = _fit(
        kept,
        labels,
        seed=seed,
        progress=lambda frac: progress(0.8 * (CV_FOLDS + frac) / (CV_FOLDS + 1)),
    )
    progress(1.0)
    return Model(
        pipeline=pipeline,
        labels=labels,
        threshold=best,
        positives={c: per_label[c] for c in labels},
        skipped=skipped,
        metrics={
            "cross_validated": {
                "folds": len(folds),
                "grouped": groups is not None,
                "micro_f1": held_out["micro"]["f1"],
                "macro_f1": held_out["macro_f1"],
            },
            "shown_cross_validated": rule_cv,
        },
        n_examples=len(kept),
        rules=rules,
    )


def grouped_folds(groups: Sequence[Hashable], k: int = CV_FOLDS) -> list[list[int]]:
    """Indices of ``groups`` in ``k`` folds such that no group is in two folds: the largest
    groups first, each to the fold with fewest examples so far (deterministic, no seed).

    With fewer groups than folds, each group is cut into ``k`` runs of neighbouring examples
    instead (a single transcript still gets folds, neighbours staying together)."""
    members: dict[Hashable, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    if len(members) < k:
        size = {g: len(idx) for g, idx in members.items()}
        cut: dict[Hashable, list[int]] = {}
        for g, idx in members.items():
            for j, i in enumerate(idx):
                cut.setdefault((g, j * k // size[g]), []).append(i)
        members = cut
    folds: list[list[int]] = [[] for _ in range(min(k, len(members)))]
    for _key, idx in sorted(members.items(), key=lambda kv: (-len(kv[1]), str(kv[0]))):
        min(folds, key=len).extend(idx)
    return [sorted(f) for f in folds if f]


def _f1(tp: np.ndarray | int, fp: np.ndarray | int, fn: np.ndarray | int) -> np.ndarray:
    denom = 2 * tp + fp + fn
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def choose_rules(
    gold: Sequence[set[str]],
    keyword_hits: Sequence[set[str]],
    held_scores: Sequence[dict[str, float]],
    model_labels: Sequence[str],
) -> tuple[dict[str, Rule], dict[str, Any]]:
    """Per code, the rule of the grid with the best cross-validated F1 (scores held out by
    grouped folds), or keywords alone unless that beats them by ``RULE_MARGIN``. Returns the
    rules of the model's codes that use the model, and per code (every code of ``gold``, the
    keyword hits or the model) the cross-validated P/R/F1 of its rule and of keywords alone."""
    codes = sorted(set(model_labels).union(*gold, *keyword_hits))
    rules: dict[str, Rule] = {}
    per: dict[str, dict[str, Any]] = {}
    n = len(gold)
    for code in codes:
        y = np.array([code in g for g in gold], dtype=bool)
        k = np.array([code in h for h in keyword_hits], dtype=bool)
        kw_tp, kw_fp, kw_fn = int((k & y).sum()), int((k & ~y).sum()), int((~k & y).sum())
        kw_f1 = float(_f1(kw_tp, kw_fp, kw_fn))
        chosen, counts = KEYWORDS_ALONE, (kw_tp, kw_fp, kw_fn)
        if code in model_labels and n:
            s = np.array([h.get(code, 0.0) for h in held_scores], dtype=float)
            # True positives and false positives of each branch at each of its thresholds.
            a_pred = [k if a <= 0 else k & (s >= a) for a in WITH_KEYWORD]
            b_pred = [
                np.zeros(n, dtype=bool) if b is None else ~k & (s >= b) for b in WITHOUT_KEYWORD
            ]
            a_tp = np.array([(p & y).sum() for p in a_pred])[:, None]
            a_fp = np.array([(p & ~y).sum() for p in a_pred])[:, None]
            b_tp = np.array([(p & y).sum() for p in b_pred])[None, :]
            b_fp = np.array([(p & ~y).sum() for p in b_pred])[None, :]
            tp, fp = a_tp + b_tp, a_fp + b_fp
            fn = int(y.sum()) - tp
            f1 = _f1(tp, fp, fn)
            # What the model adds where no keyword matched must be at least as precise as the
            # keywords (and right at least MIN_ADDED_PRECISION of the time): many codes at a low
            # threshold look good in cross-validation and flood text of another kind.
            kw_precision = kw_tp / (kw_tp + kw_fp) if kw_tp + kw_fp else 0.0
            floor = max(MIN_ADDED_PRECISION, kw_precision)
            added_precision = b_tp / np.maximum(b_tp + b_fp, 1)
            allowed = (added_precision >= floor) & (b_tp + b_fp > 0)
            allowed[0, 0] = True  # None: nothing added
            f1 = np.where(np.broadcast_to(allowed, f1.shape), f1, 0.0)
            padded = np.pad(f1, 1, mode="edge")
            smooth = sum(
                padded[1 + di : 1 + di + f1.shape[0], 1 + dj : 1 + dj + f1.shape[1]]
                for di in (-1, 0, 1)
                for dj in (-1, 0, 1)
            )
            i, j = (int(x) for x in np.unravel_index(int(np.argmax(smooth)), f1.shape))
            if (i, j) != (0, 0) and f1[i, j] >= kw_f1 + RULE_MARGIN:
                chosen = Rule(WITH_KEYWORD[i], WITHOUT_KEYWORD[j])
                counts = (int(tp[i, j]), int(fp[i, j]), int(fn[i, j]))
                rules[code] = chosen
        per[code] = {
            **_prf(*counts),
            "support": counts[0] + counts[2],
            "rule": "model" if chosen.uses_model else "keywords",
            "with_keyword": chosen.with_keyword,
            "without_keyword": chosen.without_keyword,
            "keywords_f1": round(kw_f1, 4),
        }
    supported = [v["f1"] for v in per.values() if v["support"]]
    return rules, {
        "per_code": per,
        "macro_f1": round(sum(supported) / len(supported), 4) if supported else 0.0,
    }


def suggest(
    lemma_lists: Sequence[Sequence[str]],
    matcher: KeywordMatcher | None,
    model: Model | None,
) -> list[dict[str, tuple[list[str], float | None]]]:
    """What is shown, per passage: code -> (the keywords that matched, the model's score or
    None). The one rule of the transcript view and of ``evaluate_suggestions``: a code the model
    has no rule for is shown where its keywords match."""
    all_scores = model.scores(lemma_lists) if model else [{} for _ in lemma_lists]
    rules = model.rules if model else {}
    out = []
    for lemmas, cats in zip(lemma_lists, all_scores, strict=True):
        found = matcher.match(lemmas) if matcher else {}
        shown: dict[str, tuple[list[str], float | None]] = {}
        for code in set(found) | set(rules):
            rule = rules.get(code, KEYWORDS_ALONE)
            score = cats.get(code)
            if rule.shows(code in found, score):
                shown[code] = (found.get(code, []), score)
        out.append(shown)
    return out


def paired_bootstrap(
    gold: Sequence[set[str]],
    a: Sequence[set[str]],
    b: Sequence[set[str]],
    labels: Iterable[str],
    *,
    n: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Macro-F1 of ``a`` minus that of ``b`` on the same passages, with a 95 % percentile
    interval from resampling the passages (the same resample for both)."""
    labels = sorted(set(labels))
    m = len(gold)
    if not labels or not m:
        return {"difference": 0.0, "ci95": [0.0, 0.0], "resamples": 0}

    def counts(pred: Sequence[set[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        y = np.array([[lb in g for lb in labels] for g in gold], dtype=bool)
        p = np.array([[lb in q for lb in labels] for q in pred], dtype=bool)
        return (p & y).astype(int), (p & ~y).astype(int), (~p & y).astype(int)

    ca, cb = counts(a), counts(b)

    def macro(c: tuple[np.ndarray, np.ndarray, np.ndarray], idx: np.ndarray) -> float:
        tp, fp, fn = (x[idx].sum(axis=0) for x in c)
        support = (tp + fn) > 0
        f1 = _f1(tp, fp, fn)
        return float(f1[support].mean()) if support.any() else 0.0

    whole = np.arange(m)
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n):
        idx = rng.integers(0, m, m)
        diffs.append(macro(ca, idx) - macro(cb, idx))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return {
        "difference": round(macro(ca, whole) - macro(cb, whole), 4),
        "ci95": [round(float(lo), 4), round(float(hi), 4)],
        "resamples": n,
    }


# --- keywords mined from the coding --------------------------------------------------------

MINE_PRIOR_SHARE = 0.1  # the prior's weight: a tenth of each lemma's own count
MINE_MIN_PASSAGES = 3  # a mined lemma occurs in at least this many of the code's passages
MINE_MIN_Z = 1.96
MINE_MAX_SHARE = 0.1  # a lemma in more than this share of the other passages is too common


def distinctive_lemmas(
    examples: Sequence[tuple[Sequence[str], set[str]]],
    code: str,
    *,
    exclude: Iterable[str] = (),
    top: int = 10,
) -> list[tuple[str, float]]:
    """Content lemmas typical of ``code``'s passages against all other passages: the weighted
    log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008), as a
    z-score. With y_w and n the lemma's and all lemmas' counts in the code's passages, r_w and m
    the same in the rest, the prior a_w = MINE_PRIOR_SHARE * (y_w + r_w) (the lemma's share of
    the corpus times A = MINE_PRIOR_SHARE * (n + m)):

        delta_w = log((y_w + a_w) / (n + A - y_w - a_w)) - log((r_w + a_w) / (m + A - r_w - a_w))
        z_w = delta_w / sqrt(1 / (y_w + a_w) + 1 / (r_w + a_w))

    Lemmas in fewer than MINE_MIN_PASSAGES of the code's passages, in more than MINE_MAX_SHARE
    of the other passages (words of any talk: "hva", "si"), or with z below MINE_MIN_Z, are
    left out, and so are ``exclude`` (the code's keywords). Returns (lemma, z), best first."""
    inside: dict[str, int] = {}
    outside: dict[str, int] = {}
    spread: dict[str, int] = {}
    elsewhere: dict[str, int] = {}
    for lemmas, codes in examples:
        words = [w.casefold() for w in content_lemmas(lemmas)]
        target = inside if code in codes else outside
        for w in words:
            target[w] = target.get(w, 0) + 1
        counts = spread if code in codes else elsewhere
        for w in set(words):
            counts[w] = counts.get(w, 0) + 1
    n, m = sum(inside.values()), sum(outside.values())
    n_other = sum(1 for _lemmas, codes in examples if code not in codes)
    prior = MINE_PRIOR_SHARE * (n + m)
    if not n or not m:
        return []
    skip = {" ".join(e.split()).casefold() for e in exclude}
    out = []
    for w, y in inside.items():
        if spread.get(w, 0) < MINE_MIN_PASSAGES or w in skip:
            continue
        if elsewhere.get(w, 0) > MINE_MAX_SHARE * n_other:
            continue
        r = outside.get(w, 0)
        a = MINE_PRIOR_SHARE * (y + r)
        delta = np.log((y + a) / (n + prior - y - a)) - np.log((r + a) / (m + prior - r - a))
        z = float(delta / np.sqrt(1 / (y + a) + 1 / (r + a)))
        if z >= MINE_MIN_Z:
            out.append((w, round(z, 2)))
    out.sort(key=lambda wz: (-wz[1], wz[0]))
    return out[:top]


# --- figures --------------------------------------------------------------------------------


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def scores(
    gold: Sequence[set[str]], predicted: Sequence[set[str]], labels: Iterable[str]
) -> dict[str, Any]:
    """Per label P/R/F1 with support; micro F1 over all labels' decisions; macro F1 as the mean
    over the labels that occur in ``gold`` (a label nobody used cannot be recalled)."""
    labels = sorted(set(labels))
    per: dict[str, dict[str, Any]] = {}
    total = [0, 0, 0]
    for label in labels:
        tp = fp = fn = 0
        for g, p in zip(gold, predicted, strict=True):
            if label in p:
                if label in g:
                    tp += 1
                else:
                    fp += 1
            elif label in g:
                fn += 1
        per[label] = {**_prf(tp, fp, fn), "support": tp + fn, "predicted": tp + fp}
        total[0] += tp
        total[1] += fp
        total[2] += fn
    supported = [v["f1"] for v in per.values() if v["support"]]
    return {
        "per_code": per,
        "micro": _prf(*total),
        "macro_f1": round(sum(supported) / len(supported), 4) if supported else 0.0,
    }
