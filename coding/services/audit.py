"""The audit trail: one event per change to the coding, written in the change's transaction."""

from __future__ import annotations

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
    AuditEvent.objects.create(
        project_id=project_id,
        transcript_id=transcript_id,
        actor=actor,
        action=action,
        details=details,
    )
