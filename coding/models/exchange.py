"""REFI-QDA exchange (coding.exchange)."""

from __future__ import annotations

from django.db import models

from coding.models.project import Project

# --- REFI-QDA exchange (coding.exchange) --------------------------------------------------------


class ExchangeGuid(models.Model):
    """The REFI-QDA GUID an object arrived with, so that exporting it again gives the same GUID.

    Objects made in this project have none: their GUID is derived (coding.exchange.guids). One
    table for every kind of object rather than a column on each model.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exchange_guids")
    kind = models.CharField(max_length=20)
    object_id = models.BigIntegerField()
    guid = models.UUIDField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "kind", "object_id"], name="exchange_guid_object_unique"
            ),
            models.UniqueConstraint(
                fields=["project", "kind", "guid"], name="exchange_guid_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}: {self.guid}"
