"""The audit trail: one event per change to the coding, written in the change's transaction."""

from __future__ import annotations

from coding.models import (
    AuditEvent,
)


def audit(
    *, project_id: int, actor, action: str, transcript_id: int | None = None, **details
) -> None:
    """Record one change to the coding. Call inside the transaction that makes the change."""
    AuditEvent.objects.create(
        project_id=project_id,
        transcript_id=transcript_id,
        actor=actor,
        action=action,
        details=details,
    )
