import importlib
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coding.benchmarks import AREAS


class Command(BaseCommand):
    help = "Run a benchmark area and print one JSON object of figures (ratios to a baseline)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("area", choices=AREAS)
        parser.add_argument("--scale", choices=["small", "full"], default="full")

    def handle(self, *args: Any, area: str, scale: str, **opts: Any) -> None:
        module_name = "import_" if area == "import" else area
        try:
            module = importlib.import_module(f"coding.benchmarks.{module_name}")
        except ModuleNotFoundError as exc:
            raise CommandError(f"the benchmark area {area!r} is not built yet") from exc
        result = module.run(scale)
        self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
