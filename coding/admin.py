from django.contrib import admin

from coding import models


class MembershipInline(admin.TabularInline):
    model = models.Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(models.Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    fields = ["name", "description", "memos_required", "interviewer_turns_are_interview_text"]
    inlines = [MembershipInline]


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["project", "user", "role"]
    list_filter = ["role", "project"]


class AttributeValueInline(admin.TabularInline):
    model = models.AttributeValue
    extra = 0
    fk_name = "case"


@admin.register(models.Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "kind", "order"]
    list_filter = ["project", "kind"]
    inlines = [AttributeValueInline]


@admin.register(models.Informant)
class InformantAdmin(admin.ModelAdmin):
    list_display = ["pseudonym", "role_title", "level", "case"]
    list_filter = ["level", "case__project"]


@admin.register(models.AttributeDefinition)
class AttributeDefinitionAdmin(admin.ModelAdmin):
    list_display = ["name", "target", "kind", "project", "order"]


@admin.register(models.AttributeValue)
class AttributeValueAdmin(admin.ModelAdmin):
    list_display = ["definition", "case", "informant"]


@admin.register(models.Transcript)
class TranscriptAdmin(admin.ModelAdmin):
    list_display = ["title", "case", "interview_date", "mode", "word_count"]
    list_filter = ["case__project", "mode"]
    readonly_fields = ["text"]


@admin.register(models.Turn)
class TurnAdmin(admin.ModelAdmin):
    list_display = ["transcript", "index", "label", "is_interviewer", "informant"]
    raw_id_fields = ["transcript", "informant"]


@admin.register(models.Sentence)
class SentenceAdmin(admin.ModelAdmin):
    list_display = ["transcript", "index", "start", "end"]
    raw_id_fields = ["transcript", "turn"]


@admin.register(models.Codebook)
class CodebookAdmin(admin.ModelAdmin):
    list_display = ["name", "project"]


@admin.register(models.Code)
class CodeAdmin(admin.ModelAdmin):
    list_display = ["name", "codebook", "parent", "order", "color", "shortcut"]
    list_filter = ["codebook"]


@admin.register(models.Excerpt)
class ExcerptAdmin(admin.ModelAdmin):
    list_display = ["transcript", "start", "end", "created_by"]
    raw_id_fields = ["transcript"]


@admin.register(models.Coding)
class CodingAdmin(admin.ModelAdmin):
    list_display = ["tag", "content_object", "coder", "source", "created_at"]
    raw_id_fields = ["content_object"]
    list_filter = ["source"]


@admin.register(models.Memo)
class MemoAdmin(admin.ModelAdmin):
    list_display = ["project", "author", "title", "updated_at"]
    raw_id_fields = ["excerpt", "transcript", "case", "code"]


@admin.register(models.Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["kind", "status", "progress", "project", "created_by", "created_at"]
    list_filter = ["kind", "status"]


@admin.register(models.AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "project", "actor", "action", "transcript"]
    list_filter = ["action", "project"]
    readonly_fields = ["project", "transcript", "actor", "action", "details", "created_at"]
