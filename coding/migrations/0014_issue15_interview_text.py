from django.db import migrations, models
from django.db.models import Exists, OuterRef


def mark_headers(apps, schema_editor):
    """The text before a transcript's first speaker turn was its header (the rule until now):
    mark it so, so what was not interview text stays so."""
    Turn = apps.get_model("coding", "Turn")
    later = Turn.objects.filter(transcript_id=OuterRef("transcript_id"), index__gt=0).exclude(
        label=""
    )
    Turn.objects.filter(index=0, label="", informant__isnull=True, is_interviewer=False).filter(
        Exists(later)
    ).update(is_header=True)


class Migration(migrations.Migration):
    dependencies = [
        ("coding", "0013_issue17_memos"),
    ]

    operations = [
        migrations.AddField(
            model_name="turn",
            name="is_header",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name="project",
            name="interviewer_turns_are_interview_text",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Search, coding suggestions and the matrices' share of text read the "
                    "interviewer's turns too."
                ),
                verbose_name="interviewer turns are interview text",
            ),
        ),
        migrations.RunPython(mark_headers, migrations.RunPython.noop),
    ]
