# AuditAction.TRANSCRIPT_DELETE was never written: no path deletes a transcript. Dropping the
# member changes the field's choices only (no schema change).
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('coding', '0008_issue12_code_name_key'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('coding_add', 'Code applied'), ('coding_remove', 'Code removed'), ('excerpt_resize', 'Passage boundaries changed'), ('memo_save', 'Memo written'), ('memo_delete', 'Memo deleted'), ('code_create', 'Code created'), ('code_update', 'Code changed'), ('code_merge', 'Codes merged'), ('code_delete', 'Code deleted'), ('transcript_import', 'Transcript imported'), ('member_change', 'Membership changed'), ('key_quote_add', 'Key quote marked'), ('key_quote_remove', 'Key quote unmarked'), ('case_save', 'Case saved'), ('informant_save', 'Informant saved'), ('attribute_create', 'Attribute added'), ('attribute_delete', 'Attribute deleted'), ('framework_save', 'Framework summary saved')], max_length=30),
        ),
    ]
