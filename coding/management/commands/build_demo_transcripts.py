from typing import Any

from django.core.management.base import BaseCommand

from coding.management import demo


class Command(BaseCommand):
    help = "Write fixtures/transcripts/<id>.docx|odt|txt from their plain-text sources."

    def handle(self, *args: Any, **opts: Any) -> None:
        for path in demo.build_fixture_files():
            self.stdout.write(str(path.relative_to(demo.FIXTURES)))
