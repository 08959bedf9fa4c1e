"""Every UI string has its Norwegian translation: the msgids that the Python code and the
templates pass to Django's i18n are all in locale/nb's catalogue (a string missing there shows
in English inside Norwegian pages and exports), and a Norwegian Word export reads Norwegian."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
CATALOGUE = ROOT / "locale" / "nb" / "LC_MESSAGES" / "django.mo"

SINGULAR = {"_", "gettext", "gettext_lazy", "gettext_noop"}
PLURAL = {"ngettext", "ngettext_lazy"}
CONTEXT = {"pgettext", "pgettext_lazy"}
CONTEXT_PLURAL = {"npgettext", "npgettext_lazy"}


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _strs(args: list[ast.expr], n: int) -> list[str] | None:
    if len(args) < n or not all(
        isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args[:n]
    ):
        return None
    return [a.value for a in args[:n]]  # type: ignore[attr-defined]


def python_msgids() -> set[tuple[str, str]]:
    """(file, catalogue key) of every translatable literal in coding/ and casestudy/."""
    found = set()
    for path in [*ROOT.joinpath("coding").rglob("*.py"), *ROOT.joinpath("casestudy").rglob("*.py")]:
        if "migrations" in path.parts or "benchmarks" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name, where = _name(node.func), str(path.relative_to(ROOT))
            if name in SINGULAR and (s := _strs(node.args, 1)):
                found.add((where, s[0]))
            elif name in PLURAL and (s := _strs(node.args, 2)):
                found.add((where, s[0]))
            elif name in CONTEXT and (s := _strs(node.args, 2)):
                found.add((where, f"{s[0]}\x04{s[1]}"))
            elif name in CONTEXT_PLURAL and (s := _strs(node.args, 3)):
                found.add((where, f"{s[0]}\x04{s[1]}"))
    return found


TRANSLATE = re.compile(
    r"""{%\s*(?:translate|trans)\s+(?P<q>["'])(?P<id>.*?)(?P=q)"""
    r"""(?:\s+context\s+(?P<cq>["'])(?P<ctx>.*?)(?P=cq))?[^%]*%}""",
    re.S,
)
BLOCK = re.compile(
    r"{%\s*blocktrans(?:late)?(?P<args>[^%]*)%}(?P<body>.*?)(?:{%\s*plural\s*%}.*?)?"
    r"{%\s*endblocktrans(?:late)?\s*%}",
    re.S,
)
VAR = re.compile(r"{{\s*([\w.]+)[^}]*}}")


def template_msgids() -> set[tuple[str, str]]:
    found = set()
    for path in ROOT.joinpath("templates").rglob("*.html"):
        text, where = path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))
        for m in TRANSLATE.finditer(text):
            ctx = m.group("ctx")
            found.add((where, f"{ctx}\x04{m.group('id')}" if ctx else m.group("id")))
        for m in BLOCK.finditer(text):
            # As Django builds the msgid: a literal % doubled, each variable as %(name)s.
            body = VAR.sub(lambda v: f"%({v.group(1)})s", m.group("body").replace("%", "%%"))
            if "trimmed" in m.group("args"):
                body = " ".join(line.strip() for line in body.strip().splitlines() if line.strip())
            ctx = re.search(r"""context\s+["'](.*?)["']""", m.group("args"))
            found.add((where, f"{ctx.group(1)}\x04{body}" if ctx else body))
    return found


def catalogue() -> dict:
    with CATALOGUE.open("rb") as fh:
        cat = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    keys: dict = {}
    for key, value in cat.items():
        msgid = key[0] if isinstance(key, tuple) else key
        if value:
            keys[msgid] = value
    return keys


def test_every_ui_string_has_a_norwegian_translation():
    known = catalogue()
    missing = sorted(
        f"{where}: {msgid!r}"
        for where, msgid in python_msgids() | template_msgids()
        if msgid and msgid not in known
    )
    assert missing == [], "add these to locale/nb/LC_MESSAGES/django.po:\n" + "\n".join(missing)


def test_the_shortcuts_dialog_speaks_norwegian(bob_client, case, codebook, settings):
    from django.urls import reverse

    from .factories import TranscriptFactory

    settings.LANGUAGE_CODE = "nb"
    transcript = TranscriptFactory(case=case, text="I: Hei.\n\nIP: Hallo.")
    html = bob_client.get(reverse("coding:transcript-detail", args=[transcript.pk])).content
    html = html.decode()
    assert "<dt>Skriv</dt>" in html and "<kbd>Mellomrom</kbd>" in html
    assert "<kbd>Space</kbd>" not in html and "<dt>Type</dt>" not in html
