"""Recording windows: lengths, cuts at sentence ends, sessions and speakers, sentence spans."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from ingest.media.captions import Cue, Word
from ingest.media.windows import (
    RecordingWindow,
    Session,
    Windower,
    cues_from_words,
    ends_sentence,
    sentence_spans,
)
from kmh.settings import Settings

WORDS = "les migrants de retour reçoivent une aide pour créer une activité dans leur communauté".split()


def lecture(n: int = 200, seed: int = 7, speaker: str | None = None, start: float = 0.0) -> list[Cue]:
    """``n`` caption cues of 1.5 to 6 s with small pauses; about one cue in three ends a sentence."""
    rng = random.Random(seed)
    cues, t = [], start
    for i in range(n):
        length = rng.uniform(1.5, 6.0)
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))
        text = f"Cue{i} {words}" + ("." if rng.random() < 0.33 else ",")
        cues.append(Cue(round(t, 3), round(t + length, 3), text, speaker))
        t += length + rng.choice([0.0, 0.1, 0.3])
    return cues


def check_cover(windows: list[RecordingWindow], cues: list[Cue]) -> None:
    """Windows are runs of whole cues, in order, each cue in exactly one window."""
    assert " ".join(w.text for w in windows) == " ".join(c.text for c in cues)
    starts, ends = {c.start for c in cues}, {c.end for c in cues}
    for i, w in enumerate(windows):
        assert w.index == i and w.start in starts and w.end in ends


def test_windows_stay_within_bounds_and_cut_only_between_cues():
    cues = lecture()
    windows = Windower(30, 60).split(cues)
    check_cover(windows, cues)
    assert len(windows) > 10
    for w in windows[:-1]:
        assert 30 <= w.duration <= 60, w
    assert windows[-1].duration <= 60


def test_windows_end_on_a_sentence_when_one_is_in_reach():
    cues = lecture(seed=11)
    windows = Windower(30, 60).split(cues)
    by_end = {c.end: c for c in cues}
    ended = [ends_sentence(by_end[w.end].text) for w in windows[:-1]]
    assert all(ended), [w.text[-40:] for w, e in zip(windows, ended) if not e]


def test_without_punctuation_the_cut_goes_to_the_longest_pause():
    # 10 cues of 5 s; the gap after the 8th cue (40 s) is the longest pause after the 30 s minimum.
    cues, t = [], 0.0
    for i in range(16):
        cues.append(Cue(t, t + 5.0, f"segment {i} sans ponctuation"))
        t += 5.0 + (2.0 if i == 7 else 0.2)
    windows = Windower(30, 60).split(cues)
    assert windows[0].text.endswith("segment 7 sans ponctuation")
    assert windows[1].start == cues[8].start


def test_a_cue_longer_than_the_maximum_stays_whole():
    cues = [Cue(0, 20, "Introduction."), Cue(20, 95, "Un très long exposé sans pause."), Cue(95, 100, "Questions.")]
    windows = Windower(30, 60).split(cues)
    assert [(w.start, w.end) for w in windows] == [(0, 20), (20, 95), (95, 100)]
    assert windows[1].text == "Un très long exposé sans pause."


def test_a_short_tail_is_folded_into_the_window_before():
    cues = [Cue(i * 5.0, i * 5.0 + 5.0, f"Phrase {i}.") for i in range(10)]  # 50 s
    windows = Windower(30, 60).split(cues)
    assert [(w.start, w.end) for w in windows] == [(0.0, 50.0)]


def test_windows_never_span_two_sessions():
    cues = lecture(60, seed=3)
    total = cues[-1].end
    sessions = [(1, 0.0, 70.0), Session(2, 70.0, 80.0), (3, 80.0, total + 1)]
    windows = Windower(30, 60).split(cues, sessions)
    check_cover(windows, cues)
    for w in windows:
        owner = [n for n, a, b in [(1, 0.0, 70.0), (2, 70.0, 80.0), (3, 80.0, total + 1)] if a <= (w.start + w.end) / 2 < b]
        assert w.session == owner[0]
        members = [c for c in cues if w.start <= c.start and c.end <= w.end]
        assert {next(n for n, a, b in [(1, 0.0, 70.0), (2, 70.0, 80.0), (3, 80.0, total + 1)]
                     if a <= (c.start + c.end) / 2 < b) for c in members} == {w.session}  # fmt: skip
    assert 2 in {w.session for w in windows}  # the 10 s session keeps its own (short) window
    assert all(w.duration <= 60 for w in windows)


def test_cues_outside_every_session_have_none():
    cues = [Cue(0, 10, "Avant."), Cue(10, 20, "Pendant."), Cue(20, 30, "Après.")]
    windows = Windower(5, 15).split(cues, [(4, 10.0, 20.0)])
    assert [(w.text, w.session) for w in windows] == [("Avant.", None), ("Pendant.", 4), ("Après.", None)]


def test_a_speaker_change_closes_a_window_once_long_enough():
    awa = lecture(12, seed=5, speaker="Awa Diallo")  # about 45 s
    moussa = lecture(12, seed=6, speaker="Moussa Ndiaye", start=awa[-1].end + 0.5)
    windows = Windower(30, 60).split(awa + moussa)
    assert windows[0].speaker == "Awa Diallo"
    assert any(w.start == moussa[0].start and w.speaker == "Moussa Ndiaye" for w in windows)
    assert all("Moussa" not in (w.speaker or "") or w.start >= moussa[0].start for w in windows)


def test_a_short_turn_does_not_close_a_window():
    cues = [
        Cue(0, 10, "Bonjour.", "Awa"),
        Cue(10, 14, "Oui.", "Moussa"),
        Cue(14, 30, "Je continue.", "Awa"),
        Cue(30, 40, "Merci.", "Awa"),
    ]
    windows = Windower(30, 60).split(cues)
    assert len(windows) == 1 and windows[0].speaker == "Awa"


def test_speakers_carry_over_unmarked_cues_and_come_from_a_sessions_only_speaker():
    cues = [Cue(0, 20, "Bonjour.", "Awa"), Cue(20, 40, "Suite."), Cue(40, 60, "Autre voix.", "Moussa"), Cue(60, 70, "Fin.")]
    windows = Windower(15, 30).split(cues)
    assert [(w.text, w.speaker) for w in windows] == [
        ("Bonjour.", "Awa"), ("Suite.", "Awa"), ("Autre voix. Fin.", "Moussa")  # the short tail folded in
    ]
    sessions = [Session(1, 0, 100, ("Fatou Sow",)), Session(2, 100, 200, ("A", "B"))]
    bare = [Cue(10, 20, "Exposé."), Cue(110, 120, "Débat.")]
    assert [w.speaker for w in Windower(5, 30).split(bare, sessions)] == ["Fatou Sow", None]


def test_sentence_spans_match_the_text():
    cues = lecture(80, seed=9)
    for w in Windower(30, 60).split(cues):
        assert w.sentences
        pieces = [w.text[a:b] for a, b in w.sentences]
        assert " ".join(pieces) == w.text  # the spans tile the text, only the separating spaces left out
        for piece in pieces[:-1]:
            assert piece.endswith(".")
        assert all(p == p.strip() and p for p in pieces)


def test_sentences_run_across_cues_and_split_inside_them():
    texts = ["Bonjour à tous. Je suis M. Diallo et", "je parle de réintégration.", "Des questions ? Oui…", "« Merci. »"]
    text = " ".join(texts)
    assert [text[a:b] for a, b in sentence_spans(texts)] == [
        "Bonjour à tous.", "Je suis M. Diallo et je parle de réintégration.", "Des questions ?", "Oui…", "« Merci. »"
    ]


def test_unpunctuated_sentences_are_cut_at_a_cue_boundary():
    texts = ["un deux trois quatre cinq"] * 30  # 150 words, no punctuation
    spans = sentence_spans(texts, max_words=50)
    text = " ".join(texts)
    assert len(spans) == 3 and all(len(text[a:b].split()) == 50 for a, b in spans)


def test_cues_from_whisper_words():
    words = [
        Word(0.0, 0.5, " Sustainable"), Word(0.5, 1.2, " reintegration"), Word(1.2, 1.5, " is"), Word(1.5, 1.9, " self"),
        Word(1.9, 2.6, "-sufficiency."), Word(2.8, 3.1, " It"), Word(3.1, 3.5, " takes"),
        Word(6.0, 6.4, " time"), Word(6.4, 6.9, " and"), Word(6.9, 7.5, " care."),
    ]  # fmt: skip
    cues = cues_from_words(words, pause=1.5)
    assert cues == [
        Cue(0.0, 2.6, "Sustainable reintegration is self-sufficiency."),
        Cue(2.8, 3.5, "It takes"),  # cut at the 2.5 s pause
        Cue(6.0, 7.5, "time and care."),
    ]
    long = [Word(i * 1.0, i * 1.0 + 0.9, f" w{i}") for i in range(40)]
    assert all(c.end - c.start <= 15 for c in cues_from_words(long, max_seconds=15))


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="min_seconds < max_seconds"):
        Windower(60, 30)
    with pytest.raises(ValueError, match="sessions 1 and 2 overlap"):
        Windower().split([Cue(0, 1, "x")], [(1, 0, 50), (2, 40, 90)])
    with pytest.raises(ValueError, match="session 3 ends"):
        Windower().split([Cue(0, 1, "x")], [(3, 50, 40)])


def test_settings_bounds(monkeypatch):
    s = Settings()
    assert (s.segment_min_seconds, s.segment_max_seconds, s.max_media_seconds) == (30, 60, 4 * 3600)
    assert s.whisper_model_path.name == "whisper-base" and s.whisper_compute_type == "int8"
    monkeypatch.setenv("KMH_SEGMENT_MIN_SECONDS", "90")
    with pytest.raises(ValidationError, match="segment_min_seconds"):
        Settings()


def test_each_window_knows_where_its_cues_start_in_its_text_and_in_time():
    cues = lecture(80, seed=11)
    windows = Windower(30, 60).split(cues)
    by_start = {c.start: c for c in cues}
    for w in windows:
        assert w.cues[0] == (0, w.start) and len(w.cues) >= 2
        for offset, second in w.cues:
            assert w.text[offset:].startswith(by_start[second].text)
    # from Whisper's words, a cue is a sentence: its start is its first word's
    words = [Word(0.0, 0.4, " Bonjour"), Word(0.4, 0.9, " à"), Word(0.9, 1.3, " tous."), Word(1.5, 2.0, " Les"),
             Word(2.0, 2.6, " forages"), Word(2.6, 3.4, " fonctionnent."), Word(3.6, 4.0, " Merci.")]
    (w,) = Windower(3, 60).split(cues_from_words(words))
    assert [(w.text[o:].split()[0], s) for o, s in w.cues] == [("Bonjour", 0.0), ("Les", 1.5), ("Merci.", 3.6)]
