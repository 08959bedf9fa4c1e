"""Agreement statistics over pattern counts: plain numpy, no Django.

A *unit* (a character, a sentence, a speaker turn, a passage, a transcript) gets from each of
``m`` coders one binary value for one code: coded (1) or not (0). A unit's *pattern* is the
integer whose bit ``k`` is coder ``k``'s value, so ``counts[..., p]`` is the number (or the total
weight) of units with pattern ``p``; an array of shape ``(..., 2**m)``. Every statistic here is a
function of those counts alone, vectorised over the leading axes (the bootstrap hands in one row
per resample). A statistic whose chance term leaves nothing to correct (every unit has the same
value from every coder) is NaN: undefined, never 0 or 1.

Every coder gives every unit a value (a coder who coded a transcript and did not apply a code
to a unit said "not this code"), so the formulas are the complete-data forms:

- percent agreement: share of units on which all coders give the same value;
- Cohen's kappa (two coders): (po - pe) / (1 - pe), pe from each coder's own marginals;
- Fleiss' kappa: (P̄ - P̄e) / (1 - P̄e), P̄ the mean pairwise agreement within units, P̄e from the
  pooled marginals;
- Brennan and Prediger's kappa: (P̄ - 1/q) / (1 - 1/q) with q = 2 categories (coded, not coded):
  chance is a fair coin, whatever the marginals (for two coders, P̄ is the percent agreement);
- Krippendorff's alpha, nominal: 1 - (n - 1) · o₀₁ / (n₀ · n₁) from the coincidence matrix.
"""

from __future__ import annotations

import numpy as np

# Brennan and Prediger's number of categories: a unit is coded with the code or not.
BP_CATEGORIES = 2


def popcounts(m: int) -> np.ndarray:
    """How many coders said "coded" in each of the 2**m patterns."""
    p = np.arange(2**m)
    return np.array([bin(int(x)).count("1") for x in p], dtype=np.float64)


def _split(counts: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Total units, pairwise agreeing pairs and "coded" values, over the leading axes."""
    counts = np.asarray(counts, dtype=np.float64)
    n_yes = popcounts(m)
    total = counts.sum(axis=-1)
    agree_pairs = n_yes * (n_yes - 1) + (m - n_yes) * (m - n_yes - 1)
    pairs = counts @ agree_pairs
    yes = counts @ n_yes
    return total, pairs, yes


def percent_agreement(counts: np.ndarray, m: int) -> np.ndarray:
    """Share (0–1) of units on which all ``m`` coders agree."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=-1)
    agree = counts[..., 0] + counts[..., 2**m - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        share: np.ndarray = agree / total
        return share


def cohen_kappa(counts: np.ndarray) -> np.ndarray:
    """Cohen's kappa of two coders (patterns 0–3: bit 0 the first coder, bit 1 the second)."""
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        po = (c[..., 0] + c[..., 3]) / total
        a = (c[..., 1] + c[..., 3]) / total
        b = (c[..., 2] + c[..., 3]) / total
        pe = a * b + (1 - a) * (1 - b)
        return _chance_corrected(po, pe)


def _chance_corrected(po: np.ndarray, pe: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (po - pe) / (1 - pe)
    # Nothing to correct for: every value the same (pe = 1, up to rounding).
    return np.where(np.isclose(pe, 1.0, rtol=0, atol=1e-12), np.nan, out)


def fleiss_kappa(counts: np.ndarray, m: int) -> np.ndarray:
    total, pairs, yes = _split(counts, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_bar = pairs / (total * m * (m - 1))
        p1 = yes / (total * m)
        pe = p1**2 + (1 - p1) ** 2
        return _chance_corrected(p_bar, pe)


def brennan_prediger(counts: np.ndarray, m: int) -> np.ndarray:
    total, pairs, _yes = _split(counts, m)
    chance = 1 / BP_CATEGORIES
    with np.errstate(divide="ignore", invalid="ignore"):
        p_bar = pairs / (total * m * (m - 1))
        kappa: np.ndarray = (p_bar - chance) / (1 - chance)
        return kappa


def krippendorff_alpha(counts: np.ndarray, m: int) -> np.ndarray:
    """Nominal alpha with every coder valuing every unit (m values per unit)."""
    c = np.asarray(counts, dtype=np.float64)
    n_yes = popcounts(m)
    disagreeing = c @ (n_yes * (m - n_yes)) / (m - 1)  # o₀₁ (= o₁₀)
    n = c.sum(axis=-1) * m
    n1 = c @ n_yes
    n0 = n - n1
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1 - (n - 1) * disagreeing / (n0 * n1)
    return np.where((n0 == 0) | (n1 == 0), np.nan, out)


# --- from spans to pattern counts -----------------------------------------------------------


def union(spans: np.ndarray) -> np.ndarray:
    """The disjoint, sorted [start, end) intervals covering ``spans`` (shape (k, 2))."""
    spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    if len(spans) == 0:
        return spans
    spans = spans[np.lexsort((spans[:, 1], spans[:, 0]))]
    ends = np.maximum.accumulate(spans[:, 1])
    # A new interval starts where a span begins past every end before it.
    new = np.ones(len(spans), dtype=bool)
    new[1:] = spans[1:, 0] > ends[:-1]
    starts = spans[new, 0]
    group = np.cumsum(new) - 1
    out_ends = np.zeros(len(starts), dtype=np.int64)
    np.maximum.at(out_ends, group, ends)
    return np.column_stack([starts, out_ends])


def covered(intervals: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Characters of the disjoint sorted ``intervals`` inside each [start, end)."""
    intervals = np.asarray(intervals, dtype=np.int64).reshape(-1, 2)
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    if len(intervals) == 0:
        return np.zeros(len(starts), dtype=np.int64)
    s, e = intervals[:, 0], intervals[:, 1]
    cum = np.concatenate([[0], np.cumsum(e - s)])

    def before(x: np.ndarray) -> np.ndarray:  # covered characters in [0, x)
        j = np.searchsorted(s, x, side="right")  # intervals starting at or before x
        last_end = np.where(j > 0, e[np.maximum(j - 1, 0)], 0)
        inside: np.ndarray = cum[j] - np.maximum(0, last_end - x) * (j > 0)
        return inside

    chars: np.ndarray = before(ends) - before(starts)
    return chars


def char_patterns(by_coder: list[np.ndarray], length: int) -> np.ndarray:
    """Characters of a text of ``length`` per pattern; ``by_coder[k]`` coder k's spans.

    A sweep over the span boundaries, not one value per character: the same counts, in time
    proportional to the number of spans.
    """
    m = len(by_coder)
    unions = [union(np.clip(np.asarray(s).reshape(-1, 2), 0, length)) for s in by_coder]
    points = np.unique(np.concatenate([[0, length]] + [u.ravel() for u in unions]))
    widths = np.diff(points)
    pattern = np.zeros(len(widths), dtype=np.int64)
    for k, u in enumerate(unions):
        if len(u):
            inside = covered(u, points[:-1], points[1:]) > 0
            pattern |= inside.astype(np.int64) << k
    return np.bincount(pattern, weights=widths, minlength=2**m).astype(np.float64)


def unit_patterns(
    by_coder: list[np.ndarray], units: np.ndarray, threshold: float | None = None
) -> np.ndarray:
    """Units (shape (u, 2)) per pattern. A coder coded a unit when their spans cover at least
    ``threshold`` of it (a share 0–1), or with ``threshold=None`` any character of it."""
    m = len(by_coder)
    units = np.asarray(units, dtype=np.int64).reshape(-1, 2)
    pattern = np.zeros(len(units), dtype=np.int64)
    for k, spans in enumerate(by_coder):
        cov = covered(union(spans), units[:, 0], units[:, 1])
        if threshold is None:
            yes = cov > 0
        else:
            yes = cov >= threshold * (units[:, 1] - units[:, 0]) - 1e-9
        pattern |= yes.astype(np.int64) << k
    return np.bincount(pattern, minlength=2**m).astype(np.float64)


def passages(by_coder: list[np.ndarray]) -> list[np.ndarray]:
    """Each coder's passages of a code: the connected stretches of their coding of it."""
    return [union(np.asarray(s, dtype=np.int64).reshape(-1, 2)) for s in by_coder]


def overlap_share(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every span of ``a`` with every span of ``b`` (|a| × |b|)."""
    a = np.asarray(a, dtype=np.int64).reshape(-1, 2)[:, None, :]
    b = np.asarray(b, dtype=np.int64).reshape(-1, 2)[None, :, :]
    inter = np.maximum(0, np.minimum(a[..., 1], b[..., 1]) - np.maximum(a[..., 0], b[..., 0]))
    whole = (a[..., 1] - a[..., 0]) + (b[..., 1] - b[..., 0]) - inter
    share: np.ndarray = inter / whole
    return share


def passage_patterns(by_coder: list[np.ndarray], threshold: float) -> np.ndarray:
    """MAXQDA's segment criterion: every passage of every coder is a unit; another coder
    coded it when one of their passages overlaps it by at least ``threshold`` (intersection
    over union of the two). The passage's own coder coded it."""
    m = len(by_coder)
    own = passages(by_coder)
    patterns = []
    for k, units in enumerate(own):
        if not len(units):
            continue
        pattern = np.full(len(units), 1 << k, dtype=np.int64)
        for j, theirs in enumerate(own):
            if j != k and len(theirs):
                hit = overlap_share(units, theirs).max(axis=1) >= threshold - 1e-9
                pattern |= hit.astype(np.int64) << j
        patterns.append(pattern)
    if not patterns:
        return np.zeros(2**m)
    return np.bincount(np.concatenate(patterns), minlength=2**m).astype(np.float64)


def bootstrap_weights(n_items: int, n_resamples: int, seed: int = 13) -> np.ndarray:
    """How often each of ``n_items`` is drawn in each resample (rows), with replacement."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_items, size=(n_resamples, n_items))
    w = np.zeros((n_resamples, n_items))
    np.add.at(w, (np.arange(n_resamples)[:, None], draws), 1)
    return w


def interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float] | None:
    """The percentile interval of resampled values (NaN resamples left out), or None."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if len(v) < 20:
        return None
    lo, hi = np.percentile(v, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return float(lo), float(hi)
