"""Code names unique case-insensitively for every script: a stored ``name_key`` (NFC, casefolded)
under a plain unique constraint, instead of (codebook, name), which let "Ærlige svar" and
"ærlige svar" live side by side.

Codebooks that already hold such twins stop the migration with a list of them: which name
should stay is the researchers' call (rename or merge the codes, then migrate again).
"""

import unicodedata

from django.db import migrations, models


def _key(name: str) -> str:
    # A frozen copy of coding.models.name_key (migrations do not import app code).
    return unicodedata.normalize("NFC", name).casefold()


def fill_name_key(apps, schema_editor):
    Code = apps.get_model("coding", "Code")
    db = schema_editor.connection.alias
    seen: dict[tuple[int, str], str] = {}
    clashes: list[str] = []
    codes = list(Code.objects.using(db).order_by("codebook_id", "pk"))
    for code in codes:
        code.name_key = _key(code.name)
        first = seen.setdefault((code.codebook_id, code.name_key), code.name)
        if first != code.name:
            clashes.append(f"codebook {code.codebook_id}: “{first}” and “{code.name}”")
    if clashes:
        raise RuntimeError(
            "Some codebooks hold codes whose names differ only in case (or Unicode form); rename or merge them "
            "(in the codebook editor), then run the migration again:\n  " + "\n  ".join(clashes)
        )
    Code.objects.using(db).bulk_update(codes, ["name_key"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("coding", "0007_issue12_audit_actions")]

    operations = [
        migrations.AddField(
            model_name="code",
            name="name_key",
            field=models.CharField(default="", editable=False, max_length=300),
            preserve_default=False,
        ),
        migrations.RunPython(fill_name_key, migrations.RunPython.noop, elidable=False),
        migrations.RemoveConstraint(model_name="code", name="code_name_unique"),
        migrations.AddConstraint(
            model_name="code",
            constraint=models.UniqueConstraint(
                fields=("codebook", "name_key"), name="code_name_key_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="code",
            constraint=models.CheckConstraint(
                condition=models.Q(("name_key", ""), _negated=True), name="code_name_key_set"
            ),
        ),
    ]
