from django.urls import path

from coding.views import (
    agreement,
    analysis,
    audit,
    blind,
    cases,
    codebook,
    consensus,
    dashboard,
    exchange,
    exports,
    keyquotes,
    members,
    memo_write,
    memos,
    projects,
    workspace,
)
from coding.views import search as search_views
from coding.views import suggestions as suggestion_views

app_name = "coding"

urlpatterns = [
    path("", projects.project_list, name="project-list"),
    path("projects/<int:project_id>/", projects.project_detail, name="project-detail"),
    path("projects/<int:project_id>/import/", projects.import_upload, name="import-upload"),
    path("cases/<int:case_id>/", projects.case_detail, name="case-detail"),
    path("projects/<int:project_id>/cases/new/", cases.case_edit, name="case-create"),
    path("projects/<int:project_id>/cases/<int:case_id>/edit/", cases.case_edit, name="case-edit"),
    path("cases/<int:case_id>/informants/new/", cases.informant_edit, name="informant-create"),
    path(
        "cases/<int:case_id>/informants/<int:informant_id>/edit/",
        cases.informant_edit,
        name="informant-edit",
    ),
    path("projects/<int:project_id>/attributes/", cases.attribute_list, name="attribute-list"),
    path(
        "projects/<int:project_id>/attributes/<int:definition_id>/delete/",
        cases.attribute_delete,
        name="attribute-delete",
    ),
    path("imports/<uuid:job_id>/", projects.import_preview, name="import-preview"),
    path("jobs/<uuid:job_id>/", projects.job_detail, name="job-detail"),
    path("jobs/<uuid:job_id>/download/", projects.job_download, name="job-download"),
    path("projects/<int:project_id>/export/", exports.export_start, name="export"),
    path(
        "projects/<int:project_id>/exchange/project.qdpx",
        exchange.project_export,
        name="exchange-export",
    ),
    path(
        "projects/<int:project_id>/exchange/codebook.qdc",
        exchange.codebook_export,
        name="exchange-codebook-export",
    ),
    path(
        "projects/<int:project_id>/exchange/import/",
        exchange.import_upload,
        name="exchange-import",
    ),
    path("exchange/imports/<uuid:job_id>/", exchange.import_preview, name="exchange-preview"),
    path(
        "exchange/imports/<uuid:job_id>/speakers/",
        exchange.import_speakers,
        name="exchange-speakers",
    ),
    path("projects/<int:project_id>/export/count/", exports.export_count, name="export-count"),
    path("transcripts/<int:transcript_id>/", workspace.transcript_detail, name="transcript-detail"),
    path("projects/<int:project_id>/memos/", memos.memo_list, name="memo-list"),
    path("projects/<int:project_id>/memos/types/", memos.memo_types, name="memo-types"),
    path("memos/<int:memo_id>/type/", memos.memo_type_set, name="memo-type-set"),
    path("memos/<int:memo_id>/links/", memos.memo_link, name="memo-link"),
    path("memos/<int:memo_id>/edit/", memos.memo_edit, name="memo-edit"),
    path("projects/<int:project_id>/memos/export/", memos.memo_export, name="memo-export"),
    # Memos on a case, a code, a transcript or the project: written, edited, deleted (issue 17).
    path("projects/<int:project_id>/memos/add/", memo_write.project_memo, name="project-memo-add"),
    path("cases/<int:case_id>/memo/", memo_write.case_memo, name="case-memo"),
    path("codebook/codes/<int:code_id>/memo/", memo_write.code_memo, name="code-memo"),
    path(
        "transcripts/<int:transcript_id>/memo/", memo_write.transcript_memo, name="transcript-memo"
    ),
    path("projects/<int:project_id>/codebook/", codebook.codebook_detail, name="codebook"),
    path("projects/<int:project_id>/codebook/add/", codebook.code_add, name="codebook-add"),
    path("codebook/codes/<int:code_id>/edit/", codebook.code_edit, name="codebook-edit"),
    path(
        "codebook/codes/<int:code_id>/keywords/accept/",
        codebook.code_keywords_accept,
        name="codebook-keywords-accept",
    ),
    path("codebook/codes/<int:code_id>/move/", codebook.code_move, name="codebook-move"),
    path("codebook/codes/<int:code_id>/merge/", codebook.code_merge, name="codebook-merge"),
    path("codebook/codes/<int:code_id>/delete/", codebook.code_delete, name="codebook-delete"),
    # Members and history (production and trust).
    path("projects/<int:project_id>/members/", members.member_list, name="member-list"),
    path("projects/<int:project_id>/members/add/", members.member_add, name="member-add"),
    path("members/<int:membership_id>/role/", members.member_role, name="member-role"),
    path("members/<int:membership_id>/remove/", members.member_remove, name="member-remove"),
    path("projects/<int:project_id>/history/", audit.project_history, name="project-history"),
    path(
        "transcripts/<int:transcript_id>/history/",
        audit.transcript_history,
        name="transcript-history",
    ),
    # Cross-case analysis and the supervisors' dashboard.
    path("projects/<int:project_id>/analysis/matrix/", analysis.matrix, name="analysis-matrix"),
    path(
        "projects/<int:project_id>/analysis/matrix/cell/",
        analysis.matrix_cell,
        name="analysis-matrix-cell",
    ),
    path(
        "projects/<int:project_id>/analysis/matrix.<str:fmt>",
        analysis.matrix_export_view,
        name="analysis-matrix-export",
    ),
    path(
        "projects/<int:project_id>/analysis/cooccurrence/",
        analysis.cooccurrence,
        name="analysis-cooccurrence",
    ),
    path(
        "projects/<int:project_id>/analysis/cooccurrence/cell/",
        analysis.cooccurrence_cell,
        name="analysis-cooccurrence-cell",
    ),
    path(
        "projects/<int:project_id>/analysis/cooccurrence.<str:fmt>",
        analysis.cooccurrence_export,
        name="analysis-cooccurrence-export",
    ),
    path(
        "projects/<int:project_id>/analysis/framework/",
        analysis.framework,
        name="analysis-framework",
    ),
    path(
        "projects/<int:project_id>/analysis/framework.<str:fmt>",
        analysis.framework_export,
        name="analysis-framework-export",
    ),
    path(
        "projects/<int:project_id>/analysis/framework/save/",
        analysis.framework_save,
        name="analysis-framework-save",
    ),
    path(
        "projects/<int:project_id>/analysis/framework/panel/",
        analysis.framework_panel,
        name="analysis-framework-panel",
    ),
    path(
        "analysis/framework/<int:case_id>/<int:code_id>/",
        analysis.framework_cell,
        name="analysis-framework-cell",
    ),
    path("projects/<int:project_id>/dashboard/", dashboard.dashboard, name="dashboard"),
    path(
        "projects/<int:project_id>/analysis/agreement/",
        agreement.agreement_view,
        name="analysis-agreement",
    ),
    path(
        "projects/<int:project_id>/analysis/agreement.<str:fmt>",
        agreement.agreement_export,
        name="analysis-agreement-export",
    ),
    path(
        "analysis/agreement/transcripts/<int:transcript_id>/",
        agreement.agreement_compare,
        name="analysis-agreement-compare",
    ),
    path(
        "analysis/agreement/transcripts/<int:transcript_id>/consensus/",
        consensus.consensus_decide,
        name="analysis-consensus-decide",
    ),
    path(
        "analysis/agreement/transcripts/<int:transcript_id>/consensus/start/",
        consensus.consensus_start,
        name="analysis-consensus-start",
    ),
    path(
        "analysis/agreement/transcripts/<int:transcript_id>/consensus/undo/",
        consensus.consensus_undo,
        name="analysis-consensus-undo",
    ),
    # The transcript view's endpoints (JSON, offsets in UTF-16 code units).
    path(
        "transcripts/<int:transcript_id>/codings.json",
        workspace.transcript_codings,
        name="workspace-codings",
    ),
    path("transcripts/<int:transcript_id>/code/", workspace.code_apply, name="workspace-code"),
    path(
        "transcripts/<int:transcript_id>/in-vivo/",
        workspace.code_in_vivo,
        name="workspace-in-vivo",
    ),
    path(
        "transcripts/<int:transcript_id>/in-vivo/name.json",
        workspace.in_vivo_name,
        name="workspace-in-vivo-name",
    ),
    path("transcripts/<int:transcript_id>/undo/", workspace.coding_undo, name="workspace-undo"),
    path("excerpts/<int:excerpt_id>/", workspace.excerpt_detail, name="workspace-excerpt"),
    path("excerpts/<int:excerpt_id>/resize/", workspace.excerpt_resize, name="workspace-resize"),
    path("excerpts/<int:excerpt_id>/memo/", workspace.excerpt_memo, name="workspace-memo"),
    path("codings/<int:coding_id>/delete/", workspace.coding_remove, name="workspace-uncode"),
    path(
        "excerpts/<int:excerpt_id>/key-quotes/",
        keyquotes.excerpt_key_quotes,
        name="excerpt-key-quotes",
    ),
]

# Blind coding and assignments (issue 13).
urlpatterns += [
    path("projects/<int:project_id>/blind/", blind.project_blind, name="project-blind"),
    path("transcripts/<int:transcript_id>/blind/", blind.transcript_blind, name="transcript-blind"),
    path("projects/<int:project_id>/assignments/", blind.assignments_add, name="assignments-add"),
    path(
        "assignments/<int:assignment_id>/remove/",
        blind.assignment_remove,
        name="assignment-remove",
    ),
    path("assignments/<int:assignment_id>/done/", blind.assignment_done, name="assignment-done"),
]

# Lemma search, code from search, and coding suggestions.
urlpatterns += [
    path("projects/<int:project_id>/search/", search_views.search_page, name="search"),
    path(
        "projects/<int:project_id>/search/code/preview/",
        search_views.code_preview,
        name="search-code-preview",
    ),
    path(
        "projects/<int:project_id>/search/code/apply/",
        search_views.code_apply,
        name="search-code-apply",
    ),
    path(
        "projects/<int:project_id>/search/batches/<uuid:batch>/",
        search_views.batch_detail,
        name="search-batch",
    ),
    path(
        "projects/<int:project_id>/search/batches/<uuid:batch>/undo/",
        search_views.batch_undo,
        name="search-batch-undo",
    ),
    path(
        "projects/<int:project_id>/search/reindex/",
        search_views.reindex_start,
        name="search-reindex",
    ),
    path("projects/<int:project_id>/suggestions/", suggestion_views.overview, name="suggestions"),
    path(
        "projects/<int:project_id>/suggestions/train/",
        suggestion_views.train,
        name="suggestions-train",
    ),
    path(
        "projects/<int:project_id>/suggestions/refresh/",
        suggestion_views.refresh,
        name="suggestions-refresh",
    ),
    path(
        "transcripts/<int:transcript_id>/suggestions/",
        suggestion_views.transcript_suggestions,
        name="transcript-suggestions",
    ),
    path(
        "transcripts/<int:transcript_id>/suggestions/review/",
        suggestion_views.transcript_review,
        name="transcript-suggestions-review",
    ),
    path(
        "suggestions/<int:suggestion_id>/accept/",
        suggestion_views.suggestion_accept,
        name="suggestion-accept",
    ),
    path(
        "suggestions/<int:suggestion_id>/reject/",
        suggestion_views.suggestion_reject,
        name="suggestion-reject",
    ),
    path(
        "suggestions/<int:suggestion_id>/keyword-remove/",
        suggestion_views.suggestion_keyword_remove,
        name="suggestion-keyword-remove",
    ),
]
