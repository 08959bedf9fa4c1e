from typing import Any

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models

class NaturalKeyManager(models.Manager[Any]):
    def get_by_natural_key(self, *args: Any) -> Any: ...

class NaturalKeyModel(models.Model):
    # taggit's models use a NaturalKeyManager; coding's Code and Coding replace it with their own
    # queryset's manager, so the base promises only a manager.
    objects: models.Manager[Any]
    natural_key_fields: list[str]
    def natural_key(self) -> list[Any]: ...

class TagBase(NaturalKeyModel):
    name = models.CharField(unique=True, max_length=100)
    slug = models.SlugField(unique=True, max_length=100, allow_unicode=True)
    def slugify(self, tag: str, i: int | None = None) -> str: ...

class Tag(TagBase):
    objects: models.Manager[Tag]

class ItemBase(NaturalKeyModel):
    @classmethod
    def tag_model(cls) -> type[TagBase]: ...
    @classmethod
    def tag_relname(cls) -> str: ...
    @classmethod
    def lookup_kwargs(cls, instance: models.Model) -> dict[str, Any]: ...
    @classmethod
    def tags_for(
        cls, model: type[models.Model], instance: models.Model | None = None, **extra_filters: Any
    ) -> models.QuerySet[Any]: ...

# ``tag`` is declared on the concrete models: a subclass (coding.Coding) re-declares it with its
# own tag model, which a ForeignKey to Tag here would make an incompatible override.
class TaggedItemBase(ItemBase): ...

class CommonGenericTaggedItemBase(ItemBase):
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    content_object = GenericForeignKey()

class GenericTaggedItemBase(CommonGenericTaggedItemBase):
    object_id = models.IntegerField(db_index=True)

class GenericUUIDTaggedItemBase(CommonGenericTaggedItemBase):
    object_id = models.UUIDField(db_index=True)

class TaggedItem(GenericTaggedItemBase, TaggedItemBase):
    objects: models.Manager[TaggedItem]
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
