"""The moment of a recording hit: its best sentence's start second, from the passage's cue starts (search.moments)."""

from __future__ import annotations

from search.moments import at_moment, cue_starts, moment
from search.results import Citation

TEXT = "Bonjour à tous. Les forages fonctionnent. Merci à vous. Au revoir."
# cues: "Bonjour à tous." at 10.0 s, "Les forages fonctionnent. Merci à vous." at 14.5 s, "Au revoir." at 30.2 s
FLAT = [0, 10.0, 16, 14.5, 56, 30.2]


def recording(start: float = 10.0, end: float = 32.0) -> Citation:
    return Citation(page=None, section=None, start=start, end=end, kind="recording", timestamp="00:00:10–00:00:32",
                    window_start=start, window_end=end)


def test_the_moment_is_the_start_of_the_cue_the_sentence_starts():
    cues = cue_starts(FLAT, len(TEXT))
    assert moment(16, cues, 32.0, len(TEXT)) == 14.5
    assert moment(56, cues, 32.0, len(TEXT)) == 30.2
    # a sentence starting inside a cue: interpolated by characters between the cue's start and the next one's
    inside = TEXT.index("Merci")
    assert 14.5 < moment(inside, cues, 32.0, len(TEXT)) < 30.2
    assert moment(3, [], 32.0, len(TEXT)) is None


def test_a_citation_starts_at_its_moment_and_keeps_its_window():
    c = at_moment(recording(), TEXT, TEXT.index("Les forages"), FLAT)
    assert (c.start, c.end, c.window_start, c.window_end) == (14, 32.0, 10.0, 32.0)
    assert c.timestamp == "00:00:14–00:00:32"
    # the first sentence, no best sentence, a document, a passage indexed without cues: the window's start as is
    assert at_moment(recording(), TEXT, 0, FLAT).start == 10.0
    assert at_moment(recording(), TEXT, None, FLAT).start == 10.0
    assert at_moment(recording(), TEXT, 16, None).start == 10.0
    assert at_moment(recording(), TEXT, 16, [0, 10.0, 999, 14.5]).start == 10.0  # offsets past the text: ignored
    doc = Citation(page=3, section=None, start=120, end=900)
    assert at_moment(doc, TEXT, 16, FLAT).start == 120
