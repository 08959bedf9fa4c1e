from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CodingConfig(AppConfig):
    name = "coding"
    verbose_name = _("Qualitative coding")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from coding.web import checks  # noqa: F401  (registers the deployment checks
