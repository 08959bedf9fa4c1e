"""The layering STYLE.md describes, kept by a test: no import circles, nothing imports upwards,
no module grows past the size at which it should become a package (bin/structure.py measures)."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _structure():
    spec = importlib.util.spec_from_file_location("structure", ROOT / "bin" / "structure.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


structure = _structure()


@pytest.fixture(scope="module")
def figures() -> dict:
    return structure.measure(ROOT)


def test_coding_has_no_import_circle(figures):
    assert figures["import_circles"] == []


def test_no_module_imports_against_the_layers(figures):
    assert figures["imports_against_layers"] == []


def test_no_module_outgrows_the_limit(figures):
    # About 600 lines: a module past that holds more than one concern (STYLE.md, Layout).
    assert {m: n for m, n in figures["modules_over_limit"].items() if n > 650} == {}


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    (tmp_path / "tests").mkdir(exist_ok=True)
    return tmp_path


def test_the_measure_finds_a_circle_hidden_in_a_function(tmp_path):
    root = _tree(
        tmp_path,
        {
            "coding/__init__.py": "",
            "coding/models.py": "from coding import offsets\n",
            "coding/offsets.py": "def f():\n    from coding import models\n",
        },
    )
    assert structure.measure(root)["import_circles"] == [["coding.models", "coding.offsets"]]


def test_the_measure_ignores_type_checking_imports(tmp_path):
    root = _tree(
        tmp_path,
        {
            "coding/__init__.py": "",
            "coding/models.py": "from coding import offsets\n",
            "coding/offsets.py": """
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from coding import models
            """,
        },
    )
    assert structure.measure(root)["import_circles"] == []


def test_the_measure_names_an_upward_import(tmp_path):
    root = _tree(
        tmp_path,
        {
            "coding/__init__.py": "",
            "coding/models.py": "",
            "coding/services/__init__.py": "",
            "coding/services/coding.py": "from coding.models import X\n",
            "coding/views/__init__.py": "",
            "coding/views/pages.py": "from coding import services\n",
            "coding/analysis/__init__.py": "",
            "coding/analysis/matrices.py": "from coding.views import pages\n",
        },
    )
    assert structure.measure(root)["imports_against_layers"] == [
        "coding.analysis.matrices -> coding.views.pages"
    ]
