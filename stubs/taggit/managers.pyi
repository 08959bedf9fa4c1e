from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models.fields.related import RelatedField
from taggit.models import TagBase

class _TaggableManager(models.Manager[Any]):
    def add(
        self,
        *tags: str | TagBase,
        through_defaults: dict[str, Any] | None = None,
        tag_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None: ...
    def names(self) -> models.QuerySet[Any, str]: ...
    def slugs(self) -> models.QuerySet[Any, str]: ...
    def set(
        self,
        tags: Iterable[str | TagBase],
        *,
        through_defaults: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None: ...
    def remove(self, *tags: str | TagBase) -> None: ...
    def clear(self) -> None: ...
    def most_common(
        self, min_count: int | None = None, extra_filters: dict[str, Any] | None = None
    ) -> models.QuerySet[Any]: ...
    def similar_objects(self) -> list[models.Model]: ...

class TaggableManager(RelatedField[Any, _TaggableManager]):
    # What an instance's attribute gives (the plugin reads these to type the descriptor).
    _pyi_private_set_type: Any
    _pyi_private_get_type: _TaggableManager

    def __init__(
        self,
        verbose_name: Any = ...,
        help_text: Any = ...,
        through: type[models.Model] | str | None = None,
        blank: bool = False,
        related_name: str | None = None,
        to: type[TagBase] | str | None = None,
        ordering: list[str] | None = None,
        manager: type[_TaggableManager] | None = ...,
    ) -> None: ...
