"""Key quotes: the stars of one passage (a fragment for the inspector and the drill-down),
and marking or unmarking one. Members read them; researchers and owners mark their own."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from coding import access, services
from coding.analysis import key_quote_marks
from coding.models import Code, Coding
from coding.views import HtmxHttpRequest


@login_required
@require_http_methods(["GET", "POST"])
def excerpt_key_quotes(request: HtmxHttpRequest, excerpt_id: int) -> HttpResponse:
    need = access.WRITE if request.method == "POST" else access.READ
    excerpt = access.get_visible_excerpt_for_user(request.user, excerpt_id, need)
    codebook_id = excerpt.transcript.case.project.codebook.pk
    error = ""
    if request.method == "POST":
        code = access.codes_of_codebook(codebook_id, [request.POST.get("code")])[0]
        try:
            services.key_quote_set(
                excerpt=excerpt,
                code=code,
                user=request.user,
                marked=request.POST.get("marked") == "1",
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        if not request.htmx:
            back = request.POST.get("next", "")
            if url_has_allowed_host_and_scheme(back, {request.get_host()}):
                return redirect(back)
            return redirect("coding:transcript-detail", excerpt.transcript_id)
    seen = Coding.objects.filter(content_object=excerpt).visible_to(excerpt.membership)
    codes = Code.objects.filter(pk__in=seen.values("tag_id")).order_by("order", "name")
    return render(
        request,
        "coding/keyquotes/_stars.html",
        {
            "excerpt_id": excerpt.pk,
            "stars": key_quote_marks.stars(
                [(excerpt.pk, codes)], request.user, viewer=excerpt.membership
            )[excerpt.pk],
            "can_write": excerpt.membership.can_write,
            "error": error,  # shown in the fragment: htmx swaps only 2xx answers
        },
    )
