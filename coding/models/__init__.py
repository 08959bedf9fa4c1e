"""The data model of a qualitative case study, one module per concern; import from here.

Offsets everywhere are Python ``str`` indices (Unicode code points) into ``Transcript.text``, which
is stored normalised: NFC, LF line ends, no BOM, no control characters but tab and newline.
"""

from coding.models.assignment import (
    Assignment,
    AssignmentQuerySet,
)
from coding.models.audit import (
    AuditAction,
    AuditEvent,
    AuditEventQuerySet,
)
from coding.models.codebook import (
    Code,
    Codebook,
    CodeHierarchy,
    CodeQuerySet,
    field_limit,
    name_key,
)
from coding.models.coding import (
    Coding,
    CodingLayer,
    CodingQuerySet,
    CodingSource,
    Excerpt,
    ExcerptQuerySet,
    coded_chars,
)
from coding.models.consensus import (
    ConsensusAction,
    ConsensusDecision,
    later_dependents,
)
from coding.models.exchange import (
    ExchangeGuid,
)
from coding.models.expressions import (
    COOCCURRENCE_JOIN,
    MATRIX_MEASURES,
    column_expression,
    turn_expression,
)
from coding.models.jobs import (
    Job,
    JobKind,
    JobStatus,
    JobSuperseded,
    job_fail_if_stale,
)
from coding.models.language import (
    CodeClassifier,
    IndexFormat,
    LemmaIndex,
    Suggestion,
    SuggestionDecision,
    SuggestionSource,
    SuggestionVerdict,
    Token,
)
from coding.models.memos import (
    FrameworkSummary,
    FrameworkSummaryRevision,
    KeyQuote,
    KeyQuoteQuerySet,
    Memo,
    MemoLink,
    MemoQuerySet,
    MemoType,
)
from coding.models.project import (
    WRITE_ROLES,
    AttributeDefinition,
    AttributeKind,
    AttributeTarget,
    AttributeValue,
    Case,
    CaseKind,
    Informant,
    Level,
    Membership,
    Project,
    ProjectQuerySet,
    Role,
)
from coding.models.transcript import (
    BlindMode,
    Mode,
    Sentence,
    Transcript,
    TranscriptQuerySet,
    Turn,
    TurnQuerySet,
    blind_transcripts,
    passage_url,
)

__all__ = [
    "ConsensusAction",
    "ConsensusDecision",
    "later_dependents",
    "Role",
    "WRITE_ROLES",
    "ProjectQuerySet",
    "Project",
    "Membership",
    "CaseKind",
    "Case",
    "Level",
    "Informant",
    "AttributeKind",
    "AttributeTarget",
    "AttributeDefinition",
    "AttributeValue",
    "Mode",
    "passage_url",
    "TranscriptQuerySet",
    "Transcript",
    "TurnQuerySet",
    "Turn",
    "Sentence",
    "Codebook",
    "field_limit",
    "name_key",
    "CodeHierarchy",
    "CodeQuerySet",
    "Code",
    "MATRIX_MEASURES",
    "COOCCURRENCE_JOIN",
    "turn_expression",
    "column_expression",
    "ExcerptQuerySet",
    "Excerpt",
    "CodingLayer",
    "CodingSource",
    "CodingQuerySet",
    "Coding",
    "coded_chars",
    "MemoType",
    "Memo",
    "KeyQuoteQuerySet",
    "KeyQuote",
    "MemoLink",
    "FrameworkSummary",
    "FrameworkSummaryRevision",
    "JobKind",
    "JobStatus",
    "Job",
    "JobSuperseded",
    "job_fail_if_stale",
    "AuditAction",
    "AuditEvent",
    "Token",
    "IndexFormat",
    "LemmaIndex",
    "CodeClassifier",
    "SuggestionSource",
    "Suggestion",
    "SuggestionVerdict",
    "SuggestionDecision",
    "ExchangeGuid",
    # Blind coding and assignments (issue 13).
    "BlindMode",
    "blind_transcripts",
    "MemoQuerySet",
    "Assignment",
    "AssignmentQuerySet",
    "AuditEventQuerySet",
]
