from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _count_words(text: str | None) -> int:
    from coding.nlp import count_words  # spaCy loads with nlp: only when a query counts

    return count_words(text or "")


def add_sql_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """SQLite: the counted word (nlp.WORD_RE) as the SQL function the matrices use to count
    the words of merged passages (coding.models.expressions.words_sql)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("cs_count_words", 1, _count_words, deterministic=True)


class CodingConfig(AppConfig):
    name = "coding"
    verbose_name = _("Qualitative coding")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from coding.web import checks  # noqa: F401  (registers the deployment checks

        connection_created.connect(add_sql_functions, dispatch_uid="coding-sql-functions")
