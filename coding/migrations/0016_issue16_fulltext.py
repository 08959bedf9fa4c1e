"""Issue 16: the word index on Sentence, indexed by the database's own full-text engine.

- PostgreSQL: ``coding_sentence.index_vector``, a stored generated ``tsvector`` built by the
  immutable SQL function ``coding_index_vector`` from the sentence's lemmas (as they are) and,
  where a form differs from its lemma (a quarter of the words), the form marked with a leading
  "=", each at its word's position in the sentence; no text search configuration touches them
  (lemmatising is the project's own). A GIN index serves ``@@``. Django never writes it, so
  every path that writes a sentence indexes it.
- SQLite: ``coding_sentence_fts``, an FTS5 table over ``index_lemmas`` and ``index_forms``
  (external content: the sentence table). ``lemma_index.write_sentences`` fills it with one
  INSERT ... SELECT per transcript (a trigger per row costs FTS5 eight times as much); two
  triggers follow updates and deletes. Its tokenizer is "ascii"
  with every ASCII punctuation character as a token character, so only white space parts
  tokens: the index's words (f.eks., æøå-ord, ROP-tjeneste) stay whole and non-ASCII letters
  are kept as they are (no case or diacritic folding; the strings are lower-cased already).

Existing transcripts keep their ``Token`` rows (``LemmaIndex.format`` 1) and are searched
through them until the REINDEX job moves them over, one transcript per transaction.
"""

from django.db import migrations, models

# Every ASCII character that is neither a letter, a digit nor white space.
_TOKEN_CHARS = "".join(c for c in map(chr, range(33, 127)) if not c.isalnum())
_FTS_TOKENIZE = "ascii tokenchars '" + _TOKEN_CHARS.replace("'", "''") + "'"

_PG_FORWARD = [
    r"""
    CREATE OR REPLACE FUNCTION coding_index_vector(lemmas text, forms text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
      SELECT coalesce(string_agg(
        '''' || replace(replace(w.lemma, '\', '\\'), '''', '''''') || ''':' || least(w.n, 16383)
        || CASE WHEN w.form = w.lemma THEN '' ELSE
             ' ''=' || replace(replace(w.form, '\', '\\'), '''', '''''') || ''':'
             || least(w.n, 16383) END,
        ' '), '')::tsvector
      FROM unnest(string_to_array(lemmas, ' '), string_to_array(forms, ' '))
        WITH ORDINALITY AS w(lemma, form, n)
      WHERE w.lemma IS NOT NULL AND w.form IS NOT NULL
    $$
    """,
    """
    ALTER TABLE coding_sentence ADD COLUMN index_vector tsvector
      GENERATED ALWAYS AS (coding_index_vector(index_lemmas, index_forms)) STORED
    """,
    "CREATE INDEX coding_sentence_index_vector ON coding_sentence USING gin (index_vector)",
]
_PG_BACKWARD = [
    "DROP INDEX IF EXISTS coding_sentence_index_vector",
    "ALTER TABLE coding_sentence DROP COLUMN IF EXISTS index_vector",
    "DROP FUNCTION IF EXISTS coding_index_vector(text, text)",
]

_SQLITE_FORWARD = [
    f"""
    CREATE VIRTUAL TABLE coding_sentence_fts USING fts5(
      index_lemmas, index_forms, content='coding_sentence', content_rowid='id',
      tokenize="{_FTS_TOKENIZE.replace('"', '""')}"
    )
    """,
    """
    CREATE TRIGGER coding_sentence_fts_delete AFTER DELETE ON coding_sentence BEGIN
      INSERT INTO coding_sentence_fts(coding_sentence_fts, rowid, index_lemmas, index_forms)
        VALUES ('delete', old.id, old.index_lemmas, old.index_forms);
    END
    """,
    """
    CREATE TRIGGER coding_sentence_fts_update AFTER UPDATE OF index_lemmas, index_forms
    ON coding_sentence BEGIN
      INSERT INTO coding_sentence_fts(coding_sentence_fts, rowid, index_lemmas, index_forms)
        VALUES ('delete', old.id, old.index_lemmas, old.index_forms);
      INSERT INTO coding_sentence_fts(rowid, index_lemmas, index_forms)
        VALUES (new.id, new.index_lemmas, new.index_forms);
    END
    """,
    "INSERT INTO coding_sentence_fts(coding_sentence_fts) VALUES ('rebuild')",
]
_SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS coding_sentence_fts_delete",
    "DROP TRIGGER IF EXISTS coding_sentence_fts_update",
    "DROP TABLE IF EXISTS coding_sentence_fts",
]

SQLITE_TRIGGERS = ("coding_sentence_fts_delete", "coding_sentence_fts_update")


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("coding", "0015_issue13_basis"),
    ]

    operations = [
        migrations.AddField(
            model_name="sentence",
            name="first_word",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="sentence",
            name="index_lemmas",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="sentence",
            name="index_forms",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="sentence",
            name="index_offsets",
            field=models.TextField(blank=True, default=""),
        ),
        # Existing indexes are token rows (1); new ones are built in the new format (2).
        migrations.AddField(
            model_name="lemmaindex",
            name="format",
            field=models.PositiveSmallIntegerField(
                choices=[
                    (1, "token rows"),
                    (2, "sentence columns and the database's full-text engine"),
                ],
                default=1,
            ),
        ),
        migrations.AlterField(
            model_name="lemmaindex",
            name="format",
            field=models.PositiveSmallIntegerField(
                choices=[
                    (1, "token rows"),
                    (2, "sentence columns and the database's full-text engine"),
                ],
                default=2,
            ),
        ),
        migrations.RunPython(
            _run({"postgresql": _PG_FORWARD, "sqlite": _SQLITE_FORWARD}),
            _run({"postgresql": _PG_BACKWARD, "sqlite": _SQLITE_BACKWARD}),
        ),
    ]
