"""The audit trail: one event per change to the coding, written in the change's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User

from coding.models import (
    AuditEvent,
)


def audit(
    *,
    project_id: int,
    actor: User | None,
    action: str,
    transcript_id: int | None = None,
    **details: Any,
) -> None:
    """Record one change to the coding. Call inside the transaction that makes the change.
    ``details`` are stored as JSON."""
    audit_many(
        project_id=project_id,
        actor=actor,
        action=action,
        transcript_id=transcript_id,
        details=[details],
    )


def audit_many(
    *,
    project_id: int,
    actor: User | None,
    action: str,
    details: Iterable[dict[str, Any]],
    transcript_id: int | None = None,
) -> None:
    """Record several changes of one kind, one event each as ``audit`` does, in one
    statement (a REFI-QDA import creates a whole codebook)."""
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                project_id=project_id,
                transcript_id=transcript_id,
                actor=actor,
                action=action,
                details=d,
            )
            for d in details
        ]
    )
