"""Seminar manifests (ingest.seminar) and synthetic recordings (ingest.media.synth)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ingest.seminar import ManifestError, format_timestamp, is_manifest, load_manifest, parse_timestamp
from ingest.media.synth import SynthError, load_script, split_sentences, stamp_path, synthesise_seminar
from tests.conftest import CORPUS

SAMPLE = CORPUS / "seminars" / "2021-12-reintegration-developpement"

DELETE = object()  # a field minimal() leaves out
VTT_TIMING = re.compile(r"^(\d{2}):(\d{2}):(\d{2})\.(\d{3}) --> (\d{2}):(\d{2}):(\d{2})\.(\d{3})$")


def minimal(**changes) -> dict:
    """A valid manifest with one local recording (not synthetic) and two sessions."""
    data = {
        "title": "Séminaire de test",
        "dates": {"start": "2022-03-01", "end": "2022-03-02"},
        "languages": ["fr"],
        "recordings": [{"id": "rec", "media": "media/rec.mp3", "language": "fr",
                        "captions": {"fr": "media/rec.fr.vtt"}}],
        "sessions": [
            {"number": 1, "title": "Ouverture", "recording": "rec", "start": "00:00:00", "end": "00:00:08",
             "speakers": [{"name": "Awa Sarr", "role": "modératrice"}]},
            {"number": 2, "title": "Projets", "recording": "rec", "start": "00:00:08", "end": "00:00:16",
             "speakers": [{"name": "Moussa Traoré"}]},
        ],
    }
    for key, value in changes.items():
        if value is DELETE:
            del data[key]
        else:
            data[key] = value
    return data


def write_manifest(root: Path, data: dict, slug: str = "2022-03-test", files: bool = True) -> Path:
    folder = root / slug
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "seminar.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    if files:
        for rec in data.get("recordings", []):
            for rel in [rec.get("media"), *rec.get("captions", {}).values()]:
                if rel and "://" not in rel and ".." not in rel:
                    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                    (folder / rel).write_bytes(b"x")
    return folder


def error_of(folder: Path, **kwargs) -> str:
    with pytest.raises(ManifestError) as info:
        load_manifest(folder, **kwargs)
    return str(info.value)


# --- the sample seminar ---------------------------------------------------------------------------


def test_sample_manifest_loads():
    m = load_manifest(SAMPLE / "seminar.yaml", check_files=False)
    assert m.slug == "2021-12-reintegration-developpement"
    assert (str(m.dates.start), str(m.dates.end)) == ("2021-12-01", "2021-12-02")
    assert m.languages == ["fr"] and m.objectives and m.format and m.background
    assert [s.number for s in m.sessions] == [1, 2, 3, 4]
    assert m.sessions[1].title == "Politiques et réformes"
    (rec,) = m.recordings
    assert rec.synthetic and rec.language == "fr" and rec.media.endswith(".mp3") and "fr" in rec.captions
    # the sessions follow each other without gaps in the one recording
    assert [s.start for s in m.sessions_in(rec.id)][1:] == [s.end for s in m.sessions_in(rec.id)][:-1]
    assert 8 * 60 <= m.sessions[-1].end <= 12 * 60
    assert all(s.speakers for s in m.sessions)
    corpus_names = {p.name for p in CORPUS.rglob("*") if p.is_file()}
    assert m.related_publications and set(m.related_publications) <= corpus_names


def test_sample_script_matches_the_manifest():
    script = load_script(SAMPLE / "script.yaml")
    m = load_manifest(SAMPLE, check_files=False)
    assert [s.number for s in script.sessions] == [s.number for s in m.sessions]
    for ss in script.sessions:
        assert 3 <= len(ss.turns) <= 6
        speakers = {sp.name for sp in m.session(ss.number).speakers}
        for turn in ss.turns:
            assert turn.speaker in speakers and turn.role
            assert 50 <= len(turn.text.split()) <= 130, (ss.number, turn.speaker)
    session_3 = " ".join(t.text for t in script.sessions[2].turns)
    assert "projets communautaires de réintégration" in session_3


def test_is_manifest():
    assert is_manifest("corpus/seminars/x/seminar.yaml") and is_manifest(Path("SEMINAR.yml"))
    assert not is_manifest("script.yaml") and not is_manifest("seminar.yaml.meta.yaml")


# --- timestamps -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, seconds",
    [("00:00:00", 0.0), ("01:02:03", 3723.0), ("1:02:03", 3723.0), ("02:03", 123.0), ("00:00:01.5", 1.5),
     (90, 90.0), (12.25, 12.25), ("90", 90.0), ("7.5", 7.5)],
)
def test_timestamps_parse(value, seconds):
    assert parse_timestamp(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["1:2x", "aa", "", "-1", "1:60:00", "00:61", True, None, [1]])
def test_bad_timestamps(value):
    with pytest.raises(ValueError, match="is not a timestamp"):
        parse_timestamp(value)


def test_unquoted_yaml_times_mean_the_same(tmp_path):
    # YAML 1.1 reads an unquoted 1:02:30 as the base-60 integer 3750: the same number of seconds.
    folder = write_manifest(tmp_path, minimal())
    text = (folder / "seminar.yaml").read_text(encoding="utf-8")
    (folder / "seminar.yaml").write_text(text.replace("end: 00:00:16", "end: 1:02:30"), encoding="utf-8")
    assert load_manifest(folder).sessions[1].end == 3750.0
    assert format_timestamp(3750) == "01:02:30" and format_timestamp(1.5) == "00:00:01.500"


# --- malformed manifests ------------------------------------------------------------------------------


def test_minimal_manifest_loads(tmp_path):
    m = load_manifest(write_manifest(tmp_path, minimal()))
    assert m.slug == "2022-03-test" and m.sessions[1].start == 8.0
    assert m.media_path("rec") == tmp_path / "2022-03-test" / "media" / "rec.mp3"


def _sessions(**changes) -> list[dict]:
    sessions = minimal()["sessions"]
    sessions[1] = {**sessions[1], **changes}
    return sessions


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"sessions": _sessions(start="1:2x")}, "sessions[1].start: '1:2x' is not a timestamp"),
        ({"title": DELETE}, "title: missing"),
        ({"title": 12}, "title: input should be a valid string, got 12"),
        ({"sessions": _sessions(end="00:00:06")}, "sessions[1].end: 00:00:06 is not after start 00:00:08"),
        ({"sessions": _sessions(number=1)}, "sessions[1].number: 1 already used by sessions[0]"),
        ({"sessions": _sessions(recording="day-2")}, "sessions[1].recording: 'day-2' is not a declared recording"),
        ({"sessions": _sessions(start="00:00:05")}, "sessions[1].start: session 2 starts before session 1 ends"),
        ({"sessions": _sessions(speaker="x")}, "sessions[1].speaker: unknown field (allowed: number, title"),
        ({"sessions": _sessions(speakers=[{"role": "x"}])}, "sessions[1].speakers[0].name: missing"),
        ({"languages": ["fr", "fra"]}, "languages[1]: 'fra' is not a two-letter language code"),
        ({"languages": []}, "languages: list should have at least 1 item"),
        ({"dates": {"start": "2022-03-02", "end": "2022-03-01"}}, "dates.end: 2022-03-01 is before dates.start"),
        ({"dates": {"start": "mars"}}, "dates.start: input should be a valid date"),
        ({"slug": "other"}, "slug: 'other' does not match the folder name '2022-03-test'"),
        ({"sesions": []}, "sesions: unknown field (allowed: title, title_en, slug"),
    ],
)
def test_malformed_manifests_name_the_field(tmp_path, changes, expected):
    message = error_of(write_manifest(tmp_path, minimal(**changes)))
    assert message.startswith(str(tmp_path / "2022-03-test" / "seminar.yaml") + ": ")
    assert expected in message


def _recording(**changes) -> list[dict]:
    rec = {**minimal()["recordings"][0], **changes}
    return [{k: v for k, v in rec.items() if v is not DELETE}]


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"language": "french"}, "recordings[0].language: 'french' is not a two-letter language code"),
        ({"language": DELETE}, "recordings[0].language: missing"),
        ({"media": "../elsewhere.mp3"}, "recordings[0].media: '../elsewhere.mp3' must be a path inside the seminar"),
        ({"media": "/srv/rec.mp3"}, "recordings[0].media: '/srv/rec.mp3' must be a path inside the seminar"),
        ({"media": "ftp://example.org/rec.mp3"}, "recordings[0].media: 'ftp://example.org/rec.mp3' is not a valid http"),
        ({"captions": {"fr": "media/rec.txt"}}, "recordings[0].captions.fr: 'media/rec.txt' is not a .vtt or .srt file"),
        ({"captions": {"french": "media/rec.vtt"}}, "recordings[0].captions: 'french' is not a two-letter"),
        ({"id": "a b"}, "recordings[0].id: 'a b' is not an id"),
    ],
)
def test_malformed_recordings_name_the_field(tmp_path, changes, expected):
    assert expected in error_of(write_manifest(tmp_path, minimal(recordings=_recording(**changes))))


def test_missing_media(tmp_path):
    folder = write_manifest(tmp_path, minimal(), files=False)
    assert "recordings[0].media: 'media/rec.mp3' not found" in error_of(folder)
    assert load_manifest(folder, check_files=False).recordings[0].id == "rec"
    synthetic = write_manifest(tmp_path, minimal(recordings=_recording(synthetic=True)), slug="synth", files=False)
    assert "recordings[0].media: 'media/rec.mp3' not found; run `make setup` to synthesise it" in error_of(synthetic)
    remote = write_manifest(tmp_path, minimal(recordings=_recording(media="https://example.org/rec.mp3", captions={})),
                            slug="remote", files=False)
    assert load_manifest(remote).media_path("rec") is None


def test_unreadable_manifests(tmp_path):
    folder = tmp_path / "bad-yaml"
    folder.mkdir()
    (folder / "seminar.yaml").write_text("title: [unclosed\n", encoding="utf-8")
    assert "invalid YAML at line" in error_of(folder)
    (folder / "seminar.yaml").write_text("- a list\n", encoding="utf-8")
    assert "must be a mapping" in error_of(folder)
    assert "no seminar.yaml" in error_of(tmp_path)


# --- synthesis ----------------------------------------------------------------------------------------

TINY_SCRIPT = {
    "voices": {"Awa Sarr": "fr+f2"},
    "sessions": [
        {"number": 1, "turns": [{"speaker": "Awa Sarr", "role": "modératrice",
                                 "text": "Bonjour à tous. Voici la première session."}]},
        {"number": 2, "turns": [{"speaker": "Moussa Traoré", "role": "coordinateur",
                                 "text": "Nous présentons les projets communautaires de réintégration."}]},
    ],
}


def tiny_seminar(root: Path, script: dict = TINY_SCRIPT) -> Path:
    folder = write_manifest(root, minimal(recordings=_recording(synthetic=True)), files=False)
    (folder / "script.yaml").write_text(yaml.safe_dump(script, allow_unicode=True), encoding="utf-8")
    return folder


def ffprobe_duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout)["format"]["duration"])


def vtt_cues(path: Path) -> list[tuple[float, float, str]]:
    """(start, end, payload) of each cue; checks the header and the timing lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "WEBVTT"
    cues = []
    for i, line in enumerate(lines):
        if "-->" in line:
            m = VTT_TIMING.match(line)
            assert m, line
            g = [int(x) for x in m.groups()]
            start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
            end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
            cues.append((start, end, lines[i + 1]))
    return cues


def test_synthesise_tiny_seminar(tmp_path):
    folder = tiny_seminar(tmp_path)
    result = synthesise_seminar(folder, progress=None)
    assert not result.skipped and result.cues == 3 and result.duration == 16.0
    assert result.media == folder / "media" / "rec.mp3" and result.media.stat().st_size > 1000
    assert abs(ffprobe_duration(result.media) - 16.0) <= 0.5
    load_manifest(folder)  # the media and captions the manifest names now exist

    cues = vtt_cues(result.captions)
    assert [c[2] for c in cues] == ["<v Awa Sarr>Bonjour à tous.", "<v Awa Sarr>Voici la première session.",
                                    "<v Moussa Traoré>Nous présentons les projets communautaires de réintégration."]
    starts = [c[0] for c in cues]
    assert starts == sorted(starts) and all(a[1] <= b[0] for a, b in zip(cues, cues[1:]))
    slots = [(0.0, 8.0), (0.0, 8.0), (8.0, 16.0)]
    for (start, end, _), (lo, hi) in zip(cues, slots):
        assert lo <= start < end <= hi
    assert cues[2][0] == pytest.approx(8.5)  # a session starts 0.5 s into its slot

    before = result.media.stat().st_mtime_ns
    again = synthesise_seminar(folder, progress=None)
    assert again.skipped and result.media.stat().st_mtime_ns == before
    forced = synthesise_seminar(folder, force=True, progress=None)
    assert not forced.skipped and result.media.stat().st_mtime_ns != before
    assert json.loads(stamp_path(result.media).read_text())["cues"] == 3

    changed = json.loads(json.dumps(TINY_SCRIPT))
    changed["sessions"][0]["turns"][0]["text"] = "Bonjour à toutes et à tous."
    (folder / "script.yaml").write_text(yaml.safe_dump(changed, allow_unicode=True), encoding="utf-8")
    assert not synthesise_seminar(folder, progress=None).skipped  # a changed script is spoken again


def test_speech_longer_than_its_slot(tmp_path):
    folder = tiny_seminar(tmp_path)
    data = yaml.safe_load((folder / "seminar.yaml").read_text(encoding="utf-8"))
    data["sessions"][0]["end"] = "00:00:01"
    data["sessions"][1]["start"] = "00:00:01"
    (folder / "seminar.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ManifestError, match=r"sessions\[0\]\.end: the speech of session 1 needs .* widen the slot"):
        synthesise_seminar(folder, progress=None)


def test_script_errors(tmp_path, monkeypatch):
    folder = tiny_seminar(tmp_path)
    script = json.loads(json.dumps(TINY_SCRIPT))
    script["sessions"][1]["turns"][0]["speaker"] = "Inconnu"
    (folder / "script.yaml").write_text(yaml.safe_dump(script, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ManifestError, match=r"script.yaml: sessions\[1\]\.turns\[0\]\.speaker: 'Inconnu' is not a "
                                            r"speaker of session 2"):
        synthesise_seminar(folder, progress=None)
    del script["sessions"][1]["turns"][0]["text"]
    (folder / "script.yaml").write_text(yaml.safe_dump(script, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ManifestError, match=r"script.yaml: sessions\[1\]\.turns\[0\]\.text: missing"):
        synthesise_seminar(folder, progress=None)

    (folder / "script.yaml").write_text(yaml.safe_dump(TINY_SCRIPT, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SynthError, match=r"espeak-ng not found; install espeak-ng: `make setup` does it"):
        synthesise_seminar(folder, progress=None)


def test_real_recordings_are_not_overwritten(tmp_path):
    folder = write_manifest(tmp_path, minimal())
    (folder / "script.yaml").write_text(yaml.safe_dump(TINY_SCRIPT, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ManifestError, match="no synthetic recording|0 synthetic recordings"):
        synthesise_seminar(folder, progress=None)


def test_split_sentences():
    assert split_sentences("Bonjour à tous. Voici la session ! Et vous ?  Oui… « Merci. » Puis (2021.) Fin") == [
        "Bonjour à tous.", "Voici la session !", "Et vous ?", "Oui…", "« Merci. »", "Puis (2021.)", "Fin"]
    assert split_sentences("Le taux est de 3.5 % et l'OIM. fin.") == ["Le taux est de 3.5 % et l'OIM. fin."]
