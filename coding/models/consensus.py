"""The consensus: how researchers settled the coders' disagreements, one decision at a time.

The settled codings themselves are ordinary ``Coding`` rows in the consensus layer
(``CodingLayer.CONSENSUS``); a ``ConsensusDecision`` records how each came about: who decided,
when, what they chose between and why. Written only by ``coding.services.consensus``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coding.models.codebook import Code
from coding.models.project import Project
from coding.models.transcript import Transcript

REASON_MAX = 300  # characters: a short reason, not a memo


class ConsensusAction(models.TextChoices):
    KEEP = "keep", _("Kept one coder's version")
    MERGE = "merge", _("Merged the coders' spans")
    NEW = "new", _("Wrote a new span")
    DROP = "drop", _("The code does not apply here")
    START = "start", _("Started from one coder's coding")


class ConsensusDecisionQuerySet(models.QuerySet["ConsensusDecision"]):
    def live(self) -> ConsensusDecisionQuerySet:
        """The decisions not undone."""
        return self.filter(undone_at__isnull=True)


class ConsensusDecision(models.Model):
    """One settlement of one passage of one code on one transcript (or, with ``START``, the
    copy of one coder's codings of the whole transcript that a consensus began from).

    ``versions``: the coders' versions the decision chose between, ``{coder id: [[start, end],
    ...]}`` (code points, the spans each coder's codings cover inside the passage, overlaps
    merged). ``result``: the consensus spans it made (``[[code id, start, end], ...]`` for
    ``START``). ``replaced``: the consensus codings it took away, enough to restore them on
    undo. ``overruled``: the coders whose coding the result drops or changes; ``reason`` is
    required when there is any. ``batch``: the consensus codings it created carry it.
    """

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="consensus_decisions"
    )
    transcript = models.ForeignKey(
        Transcript, on_delete=models.CASCADE, related_name="consensus_decisions"
    )
    code = models.ForeignKey(
        Code, null=True, blank=True, on_delete=models.CASCADE, related_name="consensus_decisions"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=10, choices=ConsensusAction.choices)
    start = models.PositiveIntegerField(null=True, blank=True)
    end = models.PositiveIntegerField(null=True, blank=True)
    kept_coder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    versions = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=list, blank=True)
    replaced = models.JSONField(default=list, blank=True)
    overruled = models.JSONField(default=list, blank=True)
    reason = models.CharField(max_length=REASON_MAX, blank=True)
    batch = models.UUIDField(unique=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ConsensusDecisionQuerySet.as_manager()

    class Meta:
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__isnull=True, end__isnull=True) | Q(start__lt=models.F("end")),
                name="consensus_passage_start_lt_end",
            ),
            models.CheckConstraint(
                condition=Q(action="start") | Q(code__isnull=False, start__isnull=False),
                name="consensus_passage_decision_has_code",
            ),
        ]
        indexes = [models.Index(fields=["transcript", "code"])]
        verbose_name = _("consensus decision")

    def __str__(self) -> str:
        return f"{self.action} {self.code_id} on {self.transcript_id}:{self.start}-{self.end}"

    def footprint(self) -> tuple[int, int] | None:
        """The stretch of text the decision acted on, in its code: its passage, its result and
        the consensus codings it replaced (taken away whole, so restored whole on undo). None
        for ``START``, which acted on every code of the whole transcript."""
        if self.action == ConsensusAction.START or self.start is None or self.end is None:
            return None
        starts = [self.start, *(s for s, _e in self.result), *(r["start"] for r in self.replaced)]
        ends = [self.end, *(e for _s, e in self.result), *(r["end"] for r in self.replaced)]
        return min(starts), max(ends)


def later_dependents(
    decision: ConsensusDecision, decisions: Iterable[ConsensusDecision]
) -> list[ConsensusDecision]:
    """The one rule of which decision undo may take back: of ``decisions`` (the transcript's),
    the live ones made after ``decision`` that acted where it did: on the same code over an
    overlapping footprint (``ConsensusDecision.footprint``), or either of them a ``START``.
    ``decision`` is undone only when there are none: then no later decision replaced what it
    made or made anything where its replaced codings come back, so undoing it leaves the
    consensus as if it had never been made. The latest live decision has none."""
    key = (decision.decided_at, decision.pk)
    mine = decision.footprint()
    found = []
    for d in decisions:
        if d.undone_at is not None or d.transcript_id != decision.transcript_id:
            continue
        if (d.decided_at, d.pk) <= key:
            continue
        theirs = d.footprint()
        if (
            mine is None
            or theirs is None
            or (d.code_id == decision.code_id and theirs[0] < mine[1] and mine[0] < theirs[1])
        ):
            found.append(d)
    return found
