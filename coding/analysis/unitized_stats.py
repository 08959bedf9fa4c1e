"""Krippendorff's alphas for unitized continua: plain numpy, no Django.

The definitions are those of Krippendorff, Mathet, Bouvry and Widlöcher (2016), "On the
reliability of unitizing textual continua: Further developments", Quality & Quantity 50,
2347–2364 (the family that Krippendorff's Content Analysis, 4th ed., § 12.6 and ATLAS.ti use):

- A *continuum* is one transcript's text, in code points (the app's offset unit). Each of ``m``
  coders partitions it into *units* (stretches the coder gave a value: a code, or a category of
  a domain) and *gaps* (the rest, value 0).
- Observed coincidences (eq. 1): l_ck = 1/(m−1) · Σ_{i≠j} Σ_g Σ_h |unit_ig(c) ∩ unit_jh(k)|,
  gaps included as value 0; l.. = m·L.
- Expected coincidences (eq. 4): e_ck = l.. · (l_c.·l_.k − [c = k]·Σ_{i,g: value c} w(l_ig)) /
  (l..² − Σ_{i,g} w(l_ig)), with w(l) = l² for a unit (it cannot pair with itself) and w(l) = l
  for a gap (gaps have no structure: each character stands alone).
- |uα, "alpha-binary" (§ 5.2): the values ≠ 0 taken together, so only "coded" against "not
  coded" counts: 1 − (l_0. − l_00) / (e_0. − e_00).
- cuα, "cu-alpha" (§ 5.3, eqs. 10–11): only the text that two coders both coded, and whether
  they gave it the same value: the coincidences l_ck of values ≠ 0, with the expected
  e*_ck = (l*_c·l*_k − [c = k]·Q_c/(m−1)) / (l* − ΣQ/((m−1)·l*)), where Q_c sums, over every unit
  of value c of every coder and every other coder, the square of the text that other coder also
  coded (with any value). For two coders this is the pairable length squared.

A continuum's figures come from a few sums (``Layout``): the coincidence matrix, Σ w(l) per
value, Q per value, and the characters coded by any coder or by two or more. All of them add
up over transcripts, so several transcripts are one continuum of their summed lengths (units
never cross a transcript's end; gaps count linearly, so where they meet does not matter), and a
bootstrap over transcripts is a weighted sum of per-transcript rows. Every statistic is
vectorised over the leading axes and is NaN where it is undefined (nothing to correct for).

The sweep works on span boundaries, never one value per character. A coder's unit of a value
is a connected stretch of their coding with it (``stats.union``, the agreement page's
"passage"): spans that overlap, nest or touch are one unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coding.analysis.stats import covered, union


@dataclass(frozen=True)
class Layout:
    """Where each sum sits in a continuum's row of ``size`` numbers, for ``values`` values ≠ 0."""

    values: int

    @property
    def v(self) -> int:  # with the gap (value 0)
        return self.values + 1

    @property
    def size(self) -> int:
        return self.v * self.v + self.v + self.values + 3

    def coincidences(self, row: np.ndarray) -> np.ndarray:
        """Σ_{i≠j} intersections (not yet divided by m − 1), shape (..., v, v)."""
        return row[..., : self.v * self.v].reshape(*row.shape[:-1], self.v, self.v)

    def self_pairs(self, row: np.ndarray) -> np.ndarray:
        """Σ w(l) per value (index 0: the gaps), shape (..., v)."""
        a = self.v * self.v
        return row[..., a : a + self.v]

    def pairable_squares(self, row: np.ndarray) -> np.ndarray:
        """Q per value ≠ 0, shape (..., values)."""
        a = self.v * self.v + self.v
        return row[..., a : a + self.values]

    def extras(self, row: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Length of the continuum, characters coded by any coder, by two or more."""
        a = self.size - 3
        return row[..., a], row[..., a + 1], row[..., a + 2]


def continuum(by_coder: list[list[np.ndarray]], length: int) -> np.ndarray:
    """The sums of one continuum of ``length``: ``by_coder[i][c]`` coder i's spans of value c+1.

    Time proportional to the number of spans (times values squared), not to the length.
    """
    m = len(by_coder)
    n_values = len(by_coder[0]) if by_coder else 0
    layout = Layout(n_values)
    clipped = [
        [union(np.clip(np.asarray(s, dtype=np.int64).reshape(-1, 2), 0, length)) for s in coder]
        for coder in by_coder
    ]
    valued = [union(np.concatenate([*coder, np.zeros((0, 2), np.int64)])) for coder in clipped]
    points = np.unique(np.concatenate([[0, length]] + [u.ravel() for c in clipped for u in c]))
    widths = np.diff(points).astype(np.float64)
    starts, ends = points[:-1], points[1:]
    # x[i, c, p]: coder i gave piece p value c (0: no value, a gap).
    x = np.zeros((m, layout.v, len(widths)))
    for i, coder in enumerate(clipped):
        for c, u in enumerate(coder, start=1):
            if len(u):
                x[i, c] = covered(u, starts, ends) > 0
        x[i, 0] = covered(valued[i], starts, ends) == 0 if len(valued[i]) else 1.0
    total = x.sum(axis=0)  # (v, pieces)
    o = (total * widths) @ total.T - np.einsum("icp,ikp->ck", x * widths, x)

    self_pairs = np.zeros(layout.v)
    q = np.zeros(n_values)
    for i, coder in enumerate(clipped):
        self_pairs[0] += length - float(np.sum(valued[i][:, 1] - valued[i][:, 0]))
        for c, u in enumerate(coder):
            if not len(u):
                continue
            self_pairs[c + 1] += float(np.sum((u[:, 1] - u[:, 0]).astype(np.float64) ** 2))
            for j in range(m):
                if j != i and len(valued[j]):
                    shared = covered(valued[j], u[:, 0], u[:, 1]).astype(np.float64)
                    q[c] += float(np.sum(shared**2))
    coders_on = (1.0 - x[:, 0]).sum(axis=0)  # coders who coded each piece
    row = np.zeros(layout.size)
    row[: layout.v * layout.v] = o.ravel()
    a = layout.v * layout.v
    row[a : a + layout.v] = self_pairs
    row[a + layout.v : a + layout.v + n_values] = q
    row[-3] = length
    row[-2] = float(widths @ (coders_on >= 1))
    row[-1] = float(widths @ (coders_on >= 2))
    return row


def _nan_where(condition: np.ndarray, value: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.where(condition, np.nan, value)
    return out


def u_alpha_binary(rows: np.ndarray, layout: Layout, m: int) -> np.ndarray:
    """|uα: coded (any value) against not coded, over the summed continua of ``rows``."""
    rows = np.asarray(rows, dtype=np.float64)
    lc = layout.coincidences(rows) / (m - 1)
    n = lc.sum(axis=(-2, -1))  # l.. = m · L
    gap = lc[..., 0, :].sum(axis=-1)  # l_0.
    observed = gap - lc[..., 0, 0]
    denominator = n**2 - layout.self_pairs(rows).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = n * gap * (n - gap) / denominator
        out = 1 - observed / expected
    return _nan_where(~(expected > 1e-12), out)


def cu_disagreements(rows: np.ndarray, layout: Layout, m: int) -> tuple[np.ndarray, np.ndarray]:
    """cuα's observed and expected disagreements (in coincidences, not yet a ratio)."""
    rows = np.asarray(rows, dtype=np.float64)
    lc = layout.coincidences(rows)[..., 1:, 1:] / (m - 1)
    margins = lc.sum(axis=-1)
    total = margins.sum(axis=-1)  # l*
    q = layout.pairable_squares(rows).sum(axis=-1) / (m - 1)
    observed = total - np.trace(lc, axis1=-2, axis2=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        denominator = total - q / total
        expected = (total**2 - (margins**2).sum(axis=-1)) / denominator
    expected = np.where(total > 0, expected, 0.0)
    return observed, expected


def alpha_of(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """1 − observed / expected, NaN where nothing is expected (nothing to correct for)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1 - observed / expected
    return _nan_where(~(expected > 1e-12), out)


def cu_alpha(rows: np.ndarray, layout: Layout, m: int) -> np.ndarray:
    """cuα: agreement on the values of the text that coders coded in common."""
    return alpha_of(*cu_disagreements(rows, layout, m))
