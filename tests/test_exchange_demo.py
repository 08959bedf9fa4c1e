"""The round trip on the whole demo study: export, import into a fresh project, export again."""

import difflib
import io
import zipfile

import pytest
from django.core.management import call_command
from lxml import etree

from coding.exchange import export_qdpx, read_exchange
from coding.models import Coding, Memo, Project, Transcript
from coding.services.exchange import import_plan


def _qde(project) -> bytes:
    buf = io.BytesIO()
    export_qdpx(buf, project)
    with zipfile.ZipFile(buf) as zf:
        return zf.read("project.qde"), buf.getvalue()


@pytest.mark.django_db
def test_the_demo_study_survives_export_import_export(settings, tmp_path):
    call_command("load_demo", stdout=io.StringIO())
    demo = Project.objects.get()
    owner = demo.memberships.get(role="owner").user
    first, data = _qde(demo)
    root = etree.fromstring(first)
    plan = read_exchange(io.BytesIO(data), "demo.qdpx")
    assert plan.left_out == []
    result = import_plan(
        plan,
        actor=owner,
        new_project_name=demo.name,
        user_map={root.get("creatingUserGUID"): {"mode": "existing", "user_id": owner.pk}},
    )
    copy = result.project
    second, _data = _qde(copy)
    for tree in (root, second_root := etree.fromstring(second)):
        del tree.attrib["creationDateTime"]
    a = etree.tostring(root, encoding="unicode").splitlines()
    b = etree.tostring(second_root, encoding="unicode").splitlines()
    assert list(difflib.unified_diff(a, b, lineterm="", n=0))[:20] == []
    assert Coding.objects.filter(tag__codebook__project=copy).count() == (
        Coding.objects.filter(tag__codebook__project=demo).count()
    )
    assert Memo.objects.filter(project=copy).count() == Memo.objects.filter(project=demo).count()
    # The originals travelled as richTextPath and are the transcripts' originals again.
    t = Transcript.objects.filter(case__project=copy).exclude(original_file="").first()
    assert t is not None and t.original_file.size > 0
    # Speaker turns were found again, as ordinary import finds them.
    for before in Transcript.objects.filter(case__project=demo):
        after = Transcript.objects.get(case__project=copy, title=before.title)
        assert after.text == before.text
        assert after.turns.count() == before.turns.count()
