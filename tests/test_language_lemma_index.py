"""coding/language/lemma_index.py: the REINDEX job rebuilds only what is stale unless asked to
rebuild all, and counts what it did in the message the job page shows."""

from coding.language import lemma_index
from coding.models import Job, JobKind, JobStatus, LemmaIndex, Sentence

from .language_data import make_transcript


def _job(project, **params) -> Job:
    return Job.objects.create(
        project=project, kind=JobKind.REINDEX, status=JobStatus.RUNNING, params=params
    )


def test_a_reindex_rebuilds_the_stale_transcripts_only(project, case):
    fresh = make_transcript(case, ["IP: Startlånet kom."])
    stale = make_transcript(case, ["IP: Boligene ble kjøpt."])
    LemmaIndex.objects.filter(transcript=stale).update(version="old pipeline")
    built_before = LemmaIndex.objects.get(transcript=fresh).built_at
    progress: list[int] = []

    message = lemma_index.run_reindex_job(_job(project), progress.append)

    assert "1 transcripts" in message
    assert progress == [100]
    assert lemma_index.stale_transcript_ids(project) == []
    assert LemmaIndex.objects.get(transcript=fresh).built_at == built_before, "left alone"


def test_a_reindex_of_all_rebuilds_the_fresh_ones_too(project, case):
    fresh = make_transcript(case, ["IP: Startlånet kom."])
    make_transcript(case, ["IP: Boligene ble kjøpt."])
    built_before = LemmaIndex.objects.get(transcript=fresh).built_at
    index_before = list(
        Sentence.objects.filter(transcript=fresh).values_list("index_lemmas", "index_offsets")
    )
    progress: list[int] = []

    message = lemma_index.run_reindex_job(_job(project, all=True), progress.append)

    assert "2 transcripts" in message
    assert progress == [50, 100]
    assert LemmaIndex.objects.get(transcript=fresh).built_at > built_before
    assert index_before == list(
        Sentence.objects.filter(transcript=fresh).values_list("index_lemmas", "index_offsets")
    ), "rebuilt the same"


def test_a_reindex_with_nothing_stale_says_so(project, case):
    make_transcript(case, ["IP: Startlånet kom."])
    progress: list[int] = []
    message = lemma_index.run_reindex_job(_job(project), progress.append)
    assert "0 transcripts" in message and "(0 words)" in message
    assert progress == []
