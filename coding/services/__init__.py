"""Writes that touch several models or have side effects, by entity. Keyword-only, typed, atomic.

Views call ``services.<function>``; each function lives in the module of its entity and is
re-exported here. Helpers whose names start with "_" belong to their module; the rules the
excerpt and coding writes share (locks, payloads, dropping a bare excerpt) live in ``excerpts``
(only ``check_span`` is re-exported). ``maintenance`` (the housekeeping celery beat runs) is
imported by its own path, not from here.
"""

from __future__ import annotations

from coding.services.audit import (
    audit,
)
from coding.services.blind import (
    assignment_done_set,
    assignment_remove,
    assignments_add,
    blind_coding_set,
    transcript_blind_set,
)
from coding.services.codebook import (
    CODE_COLOR_RE,
    CODE_NAME_MAX,
    CODE_PALETTE,
    MERGE_ATTEMPTS,
    CodeMergeResult,
    NewCode,
    code_create,
    code_delete,
    code_merge,
    code_move,
    code_update,
    codebook_ensure,
    codes_create,
    next_code_color,
)
from coding.services.coding import (
    IN_VIVO_MAX_CHARS,
    ImportedSpan,
    coding_remove,
    excerpt_code,
    excerpt_code_in_vivo,
    excerpt_resize,
    excerpts_import,
    in_vivo_name,
    key_quote_set,
)
from coding.services.consensus import (
    consensus_decide,
    consensus_start_from,
    consensus_undo,
    latest_decision,
)
from coding.services.excerpts import (
    check_span,
)
from coding.services.imports import (
    IMPORT_PARSE,
    exchange_import_confirm,
    exchange_import_prepare,
    exchange_speakers_save,
    import_confirm,
    import_discard,
    import_done_message,
    import_parsed,
    import_prepare,
    import_reread,
    parse_job_input,
    run_import,
    run_import_job,
    run_import_parse,
    transcript_create,
)
from coding.services.jobs import (
    export_start,
    job_enqueue,
)
from coding.services.language import (
    code_keyword_remove,
    code_keywords_add,
    language_job_start,
    search_code_apply,
    suggestion_accept,
    suggestion_reject,
)
from coding.services.members import (
    member_add,
    member_codings_kept,
    member_invite,
    member_remove,
    member_set_role,
)
from coding.services.memos import (
    MEMO_TYPE_MAX,
    memo_delete,
    memo_link_set,
    memo_save,
    memo_type_assign,
    memo_types_set,
)
from coding.services.project import (
    attribute_create,
    attribute_delete,
    case_save,
    framework_summary_save,
    informant_save,
)
from coding.services.undo import (
    UNDO_DEPTH,
    UNDOABLE_ACTIONS,
    UndoResult,
    coding_batch_undo,
    coding_undo,
    undoable_event,
)

__all__ = [
    "consensus_decide",
    "consensus_start_from",
    "consensus_undo",
    "latest_decision",
    "assignment_done_set",
    "assignment_remove",
    "assignments_add",
    "blind_coding_set",
    "transcript_blind_set",
    "CODE_COLOR_RE",
    "CODE_NAME_MAX",
    "CODE_PALETTE",
    "CodeMergeResult",
    "NewCode",
    "IMPORT_PARSE",
    "IN_VIVO_MAX_CHARS",
    "ImportedSpan",
    "MEMO_TYPE_MAX",
    "MERGE_ATTEMPTS",
    "UNDOABLE_ACTIONS",
    "UNDO_DEPTH",
    "UndoResult",
    "attribute_create",
    "attribute_delete",
    "audit",
    "case_save",
    "check_span",
    "code_create",
    "code_delete",
    "code_keyword_remove",
    "code_keywords_add",
    "code_merge",
    "code_move",
    "code_update",
    "codebook_ensure",
    "codes_create",
    "coding_batch_undo",
    "coding_remove",
    "coding_undo",
    "excerpt_code",
    "excerpt_code_in_vivo",
    "excerpt_resize",
    "excerpts_import",
    "exchange_import_confirm",
    "exchange_speakers_save",
    "exchange_import_prepare",
    "export_start",
    "framework_summary_save",
    "import_confirm",
    "import_discard",
    "import_done_message",
    "import_parsed",
    "import_prepare",
    "import_reread",
    "in_vivo_name",
    "informant_save",
    "job_enqueue",
    "key_quote_set",
    "language_job_start",
    "member_add",
    "member_codings_kept",
    "member_invite",
    "member_remove",
    "member_set_role",
    "memo_delete",
    "memo_link_set",
    "memo_save",
    "memo_type_assign",
    "memo_types_set",
    "next_code_color",
    "parse_job_input",
    "run_import",
    "run_import_job",
    "run_import_parse",
    "search_code_apply",
    "suggestion_accept",
    "suggestion_reject",
    "transcript_create",
    "undoable_event",
]
