"""Key quotes as the pages show them: a star per code on a passage, whose it is, who else marked it.

Writes go through services.key_quote_set; this is the read side, one query for any number of
passages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import User

from coding.models import Code, KeyQuote, Membership
from coding.people import display_name


@dataclass
class Star:
    """One code on one passage: whether the reader marked it, and who did."""

    code: Code
    mine: bool = False
    by: list[str] = field(default_factory=list)


def stars(
    passages: Iterable[tuple[int, Iterable[Code]]],
    user: User,
    *,
    viewer: Membership | None = None,
) -> dict[int, list[Star]]:
    """{excerpt id: [Star per code]} for (excerpt id, codes it carries) pairs; ``viewer`` sees
    only the marks blind coding lets them see (``KeyQuoteQuerySet.visible_to``)."""
    passages = [(pk, list(codes)) for pk, codes in passages]
    marks: dict[tuple[int, int], list[User]] = defaultdict(list)
    for kq in (
        KeyQuote.objects.filter(excerpt_id__in=[pk for pk, _c in passages])
        .visible_to(viewer)
        .select_related("user")
    ):
        marks[(kq.excerpt_id, kq.code_id)].append(kq.user)
    out: dict[int, list[Star]] = {}
    for pk, codes in passages:
        row = []
        for code in codes:
            users = marks.get((pk, code.pk), [])
            row.append(
                Star(
                    code=code,
                    mine=any(u.pk == user.pk for u in users),
                    by=sorted(display_name(u) for u in users),
                )
            )
        out[pk] = row
    return out
