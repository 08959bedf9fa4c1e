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
  instead of suggesting noise. One decision threshold is chosen by cross-validation on the
  training examples only.
- ``scores``: per label precision, recall, F1; micro and macro F1.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import spacy
from spacy.lang.nb.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import fix_random_seed, minibatch

from . import nlp

MIN_POSITIVES = 8
MIN_CODED = 30
EPOCHS = 20
BATCH_SIZE = 8
HASH_LENGTH = 2**14
THRESHOLDS = tuple(round(0.1 + 0.05 * i, 2) for i in range(13))  # 0.10 .. 0.70
DEFAULT_THRESHOLD = 0.3
CV_FOLDS = 3
MODEL_FORMAT = 1
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


def _doc(vocab, lemmas: Sequence[str]) -> Doc:
    words = list(lemmas) or [_EMPTY]
    return Doc(vocab, words=words, lemmas=words)


# --- keywords -------------------------------------------------------------------------------


def keyword_lines(raw: str) -> list[str]:
    return [" ".join(line.split()) for line in (raw or "").splitlines() if line.strip()]


class KeywordMatcher:
    """Codes whose keywords occur in a passage, matched by lemma."""

    def __init__(self, keywords: dict[str, Sequence[str]]) -> None:
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


@dataclass
class Model:
    """A trained model: the spaCy pipeline, its labels and one decision threshold."""

    pipeline: Language
    labels: list[str]
    threshold: float = DEFAULT_THRESHOLD
    positives: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    n_examples: int = 0

    def scores(self, lemma_lists: Sequence[Sequence[str]]) -> list[dict[str, float]]:
        textcat = self.pipeline.get_pipe("textcat_multilabel")
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
        }
        (path / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def from_disk(cls, path: Path) -> Model:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        pipeline = spacy.load(path / "pipeline")
        return cls(
            pipeline=pipeline,
            labels=meta["labels"],
            threshold=meta["threshold"],
            positives=meta.get("positives", {}),
            skipped=meta.get("skipped", {}),
            metrics=meta.get("metrics", {}),
            n_examples=meta.get("n_examples", 0),
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
        textcat.add_label(label)
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
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> Model:
    """Learn the codes of ``examples`` (lemmas, codes); passages without codes are negatives.

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
    # Cross-validation on the training examples picks the threshold and gives honest figures.
    order = list(range(len(kept)))
    random.Random(seed).shuffle(order)  # noqa: S311 (a seeded shuffle)
    folds = [order[i::CV_FOLDS] for i in range(CV_FOLDS)]
    held_scores: list[dict[str, float]] = [{} for _ in kept]
    for f, fold in enumerate(folds):
        held = set(fold)
        pipeline = _fit(
            [kept[i] for i in order if i not in held],
            labels,
            seed=seed,
            progress=lambda frac, f=f: progress(0.8 * (f + frac) / (CV_FOLDS + 1)),
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
                "folds": CV_FOLDS,
                "micro_f1": held_out["micro"]["f1"],
                "macro_f1": held_out["macro_f1"],
            }
        },
        n_examples=len(kept),
    )


# --- figures --------------------------------------------------------------------------------


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def scores(gold: Sequence[set[str]], predicted: Sequence[set[str]], labels: Iterable[str]) -> dict:
    """Per label P/R/F1 with support; micro F1 over all labels' decisions; macro F1 as the mean
    over the labels that occur in ``gold`` (a label nobody used cannot be recalled)."""
    labels = sorted(set(labels))
    per: dict[str, dict] = {}
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
