"""Recordings published through the running server (POST /api/recordings, PUT .../media and .../captions, the
staff/organiser form): a job that transcribes with the real Whisper (or takes the captions), its progress in
seconds, the limits and hostile media. Speech is made by espeak-ng; real models, real store, real worker."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from kmh.catalog import SeminarRecord, SessionRecord
from kmh.runtime import open_catalog
from kmh.settings import Settings
from tests.conftest import MODELS
from tests.helpers import SR, api_key, bearer, ffmpeg, signed_in, silence, speak, wait_for_job, words_heard, write_wav
from web.app import create_app

SEMINAR_ID = "2024-05-test-seminar"
KNOWN = "Volunteers repaired the village school with returning migrants."
FRENCH_VTT = ("WEBVTT\n\n00:00.500 --> 00:04.000\nLes coopératives agricoles accueillent les personnes de retour.\n\n"
              "00:05.000 --> 00:09.000\n"
              "Elles reçoivent une formation en apiculture et une subvention de démarrage.\n")
MAX_MEDIA_MB = 3
MAX_MEDIA_SECONDS = 2 * 3600


@pytest.fixture(scope="module")
def server(tmp_path_factory, shared_embedders):
    root = tmp_path_factory.mktemp("recordings")
    settings = Settings(data_dir=root / "data", models_dir=MODELS, max_media_mb=MAX_MEDIA_MB,
                        max_media_seconds=MAX_MEDIA_SECONDS)
    keys = {role: api_key(settings, role) for role in ("reader", "staff", "organiser")}
    catalog = open_catalog(settings)
    try:
        catalog.save_seminar(SeminarRecord(
            id=SEMINAR_ID, title="Test seminar", manifest_sha256="0" * 64, source_key="test",
            sessions=[SessionRecord(1, "Opening"), SessionRecord(2, "School repairs")]))
    finally:
        catalog.close()
    with TestClient(create_app(settings)) as client:
        yield client, keys, settings, root


@pytest.fixture(scope="module")
def media(server) -> dict[str, Path]:
    """Files made once: English speech (a known sentence after a second of silence), French speech, and hostile
    ones (text named .mp3, a truncated WAV, an hour of silence, a recording longer than the limit)."""
    _client, _keys, _settings, root = server
    folder = root / "media"
    folder.mkdir()
    known = speak(KNOWN, "en-us", folder)
    english = write_wav(folder / "school-talk.wav", np.concatenate([silence(1.0), known, silence(1.0)]))
    french = write_wav(folder / "cooperatives.wav", np.concatenate([speak(
        "Les coopératives agricoles accueillent les personnes de retour.", "fr", folder), silence(3.0)]))
    other = write_wav(folder / "school-talk-v2.wav", np.concatenate([silence(2.0), known, silence(0.5)]))
    text = folder / "minutes.mp3"
    text.write_text("Minutes of the meeting: this is text, not sound.\n" * 50, encoding="utf-8")
    cut_wav = folder / "cut-off.wav"
    cut_wav.write_bytes(english.read_bytes()[: english.stat().st_size // 3])
    cut = {}
    for ext in ("mp3", "m4a"):
        whole = folder / f"whole.{ext}"
        ffmpeg("-i", str(english), str(whole))
        cut[ext] = folder / f"cut-off.{ext}"
        cut[ext].write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    hour = folder / "hour-of-silence.flac"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "3600", "-c:a", "flac", str(hour))
    too_long = folder / "too-long.flac"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", str(MAX_MEDIA_SECONDS + 60), "-c:a", "flac",
           str(too_long))
    return {"english": english, "french": french, "other": other, "text": text, "cut_wav": cut_wav,
            "cut_mp3": cut["mp3"], "cut_m4a": cut["m4a"], "hour": hour, "too_long": too_long}


def post(client, key: str, path: Path, *, captions: str | None = None, url: str = "/api/recordings", method="POST",
         **fields):
    files = {"file": (path.name, path.read_bytes())}
    if captions is not None:
        files["captions"] = ("talk.vtt", captions.encode())
    return client.request(method, url, headers=bearer(key), files=files, data=fields)


def follow(client, job: dict, key: str, timeout: float = 300) -> tuple[dict, list[dict]]:
    """Poll a job until it ends; its final state and every progress seen on the way."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(job["url"], headers=bearer(key)).json()
        if not seen or seen[-1] != body["progress"]:
            seen.append(body["progress"])
        if body["state"] in ("done", "failed"):
            return body, seen
        time.sleep(0.05)
    raise AssertionError(f"job {job['id']} not done after {timeout} s: {seen[-1:]}")


def hits(client, q: str) -> list[dict]:
    r = client.get("/api/search", params={"q": q, "k": 5})
    assert r.status_code == 200, r.text
    return r.json()["hits"]


def staging_is_empty(settings: Settings) -> bool:
    return not any(p.is_file() for p in settings.staging_dir.rglob("*")) if settings.staging_dir.exists() else True


# -- with captions: no Whisper, the language from their text --------------------------------------------------


def test_a_recording_with_captions_is_searchable_at_its_second_in_the_language_of_its_captions(server, media):
    client, keys, settings, _root = server
    r = post(client, keys["staff"], media["french"], captions=FRENCH_VTT, title="Coopératives et retour")
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == job["url"] == f"/api/jobs/{job['id']}"
    assert job["meta"]["language"] == "fr" and job["meta"]["language_detected"] is True
    done, seen = follow(client, job, keys["staff"])
    assert done["state"] == "done", done
    # the captions are the transcript: the seconds are all "transcribed" at once
    total = done["progress"]["seconds_total"]
    assert total == round(len(np.frombuffer(media["french"].read_bytes()[44:], "<i2")) / SR)
    assert all(p.get("seconds") in (None, total) for p in seen), seen
    assert done["progress"]["seconds"] == total
    hit = hits(client, "formation en apiculture et subvention")[0]
    assert hit["doc_id"] == done["doc_id"] and hit["doc_type"] == "recording"
    assert "apiculture" in hit["text"] and hit["citation"]["start"] in (0.5, 5.0), hit["citation"]
    rec = client.get(f"/api/recordings/{done['doc_id']}").json()
    assert rec["language"] == "fr" and rec["transcript_source"] == "captions" and len(rec["cues"]) == 2
    doc = client.get(f"/api/documents/{done['doc_id']}").json()
    assert doc["title"] == "Coopératives et retour" and doc["filename"] == "cooperatives.wav"
    assert client.get(f"/api/recordings/{done['doc_id']}/media").content == media["french"].read_bytes()
    assert staging_is_empty(settings)


# -- without captions: Whisper, seconds counted ------------------------------------------------------------------


@pytest.fixture(scope="module")
def transcribed(server, media):
    """The English talk uploaded by an organiser without captions, as session 2 of the seminar: its job, timed."""
    client, keys, _settings, _root = server
    started = time.monotonic()
    r = post(client, keys["organiser"], media["english"], language="en", seminar=SEMINAR_ID, session="2")
    assert r.status_code == 202, r.text
    done, seen = follow(client, r.json(), keys["organiser"])
    return done, seen, time.monotonic() - started


def test_without_captions_whisper_transcribes_and_the_job_counts_the_seconds(server, media, transcribed):
    client, _keys, _settings, _root = server
    done, seen, elapsed = transcribed
    assert done["state"] == "done", done
    total = done["progress"]["seconds_total"]
    assert total == round(len(np.frombuffer(media["english"].read_bytes()[44:], "<i2")) / SR)
    # polled every 50 ms: the count starts at 0 once the audio is decoded, only grows, and ends at the total, which
    # every stage after transcription keeps showing
    counted = [p["seconds"] for p in seen if p.get("seconds") is not None]
    assert [p["stage"] for p in seen if p.get("seconds") is not None][0] == "transcribing", seen
    assert counted[0] == 0 and counted[-1] == total and counted == sorted(counted), seen
    assert all(p["seconds_total"] == total for p in seen if p.get("seconds_total") is not None), seen
    stages = [p["stage"] for p in seen]
    after = next(i for i, st in enumerate(stages) if st in ("parsing", "embedding", "committing", "done"))
    assert "transcribing" not in stages[after:], stages  # once transcribed, it stays so
    print(f"{total} s of speech: job done in {elapsed:.1f} s, progress seen: {[p.get('seconds') for p in seen]}")
    hit = hits(client, "Who repaired the village school?")[0]
    assert hit["doc_id"] == done["doc_id"]
    assert len(words_heard({"volunteers", "repaired", "village", "school", "returning"}, hit["text"])) >= 4, hit
    c = hit["citation"]
    assert abs(c["start"] - 1.0) < 1.5, c  # said after one second of silence
    assert c["session"] == 2 and c["section"] == "Session 2 · School repairs", c
    rec = client.get(f"/api/recordings/{done['doc_id']}").json()
    assert rec["transcript_source"] == "whisper" and rec["language"] == "en"
    sem = client.get(f"/api/seminars/{SEMINAR_ID}").json()
    assert done["doc_id"] in {r["id"] for r in sem["recordings"]}, sem["recordings"]


def test_whisper_reports_the_seconds_transcribed_segment_by_segment(server, media):
    """The count the job shows comes from Whisper's segments as they are decoded: three sentences apart give
    values between 0 and the total, growing."""
    from ingest.media.transcribe import transcriber

    _client, _keys, settings, root = server
    parts = [speak(text, "en-us", root) for text in (
        "The first workshop trained twelve tailors.", "The second workshop trained nine welders.",
        "The third workshop trained seven bakers.")]
    audio = np.concatenate([silence(0.5), parts[0], silence(1.5), parts[1], silence(1.5), parts[2], silence(0.5)])
    heard: list[tuple[float, float]] = []
    whisper = transcriber(settings, "en", progress_bar=False)
    whisper.warm_up()
    out = whisper.run(audio=audio, progress=lambda done, total: heard.append((done, total)))
    total = len(audio) / SR
    assert len(out["cues"]) >= 2, out["cues"]
    assert all(t == total for _d, t in heard) and heard[-1][0] == total
    done = [d for d, _t in heard]
    assert done == sorted(done) and any(0 < d < total for d in done), heard


def test_put_captions_replaces_the_text_and_put_media_makes_a_new_version(server, media, transcribed):
    client, keys, _settings, _root = server
    rec_id = transcribed[0]["doc_id"]
    vtt = "WEBVTT\n\n00:01.000 --> 00:04.000\nVolunteers painted the village clinic with returning migrants.\n"
    r = client.put(f"/api/recordings/{rec_id}/captions", content=vtt.encode(),
                   headers={**bearer(keys["staff"]), "content-type": "text/vtt"})  # staff may, as organisers may
    assert r.status_code == 200, r.text
    hit = hits(client, "Who painted the village clinic?")[0]
    assert hit["doc_id"] == rec_id and "painted" in hit["text"] and hit["citation"]["session"] == 2
    assert client.get(f"/api/documents/{rec_id}").json()["version"] == 2

    # a new media file: a new version, transcribed again; title, language, seminar and session kept
    title = client.get(f"/api/documents/{rec_id}").json()["title"]
    r = post(client, keys["organiser"], media["other"], url=f"/api/recordings/{rec_id}/media", method="PUT")
    assert r.status_code == 202, r.text
    assert r.json()["kind"] == "new_version" and r.json()["doc_id"] == rec_id
    done, _seen = follow(client, r.json(), keys["organiser"])
    assert done["state"] == "done", done
    doc = client.get(f"/api/documents/{rec_id}").json()
    assert doc["version"] == 3 and doc["title"] == title and doc["filename"] == "school-talk-v2.wav"
    hit = hits(client, "Who repaired the village school?")[0]
    assert hit["doc_id"] == rec_id and abs(hit["citation"]["start"] - 2.0) < 1.5, hit["citation"]
    assert hit["citation"]["session"] == 2
    assert all("painted" not in h["text"] for h in hits(client, "Who painted the village clinic?"))
    assert client.get(f"/api/recordings/{rec_id}").json()["transcript_source"] == "whisper"
    # an unknown recording
    r = post(client, keys["staff"], media["other"], url="/api/recordings/ffffffffffff/media", method="PUT")
    assert r.status_code == 404, r.text


# -- refused at once: fields, roles, size ---------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "captions", "name", "words"), [
    ({}, None, "language", "required unless captions"),
    ({"language": "english"}, None, "language", "two-letter"),
    ({"language": "en", "seminar": "no-such-seminar"}, None, "seminar", "no seminar"),
    ({"language": "en", "seminar": SEMINAR_ID, "session": "7"}, None, "session", "no session 7"),
    ({"language": "en", "session": "1"}, None, "session", "needs its seminar"),
    ({}, "WEBVTT\n\n00:01.000 --> 00:0x.000\nHi\n", "captions", "line 3"),
])
def test_a_wrong_field_is_a_422_naming_it_and_nothing_is_left_staged(server, media, fields, captions, name, words):
    client, keys, settings, _root = server
    r = post(client, keys["staff"], media["other"], captions=captions, **fields)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["invalid_params"][0]["name"] == name and words in problem["detail"], problem
    assert staging_is_empty(settings)


def test_staff_and_organisers_may_publish_readers_and_strangers_may_not(server, media):
    client, keys, _settings, _root = server
    r = client.post("/api/recordings", files={"file": ("a.wav", media["other"].read_bytes())},
                    data={"language": "en"})
    assert r.status_code == 401, r.text
    r = post(client, keys["reader"], media["other"], language="en")
    assert r.status_code == 403 and "staff or organiser" in r.json()["detail"], r.text
    r = post(client, keys["reader"], media["other"], url="/api/recordings/x/media", method="PUT", language="en")
    assert r.status_code == 403, r.text
    # an organiser follows the job of the recording they sent; the job list stays for staff
    assert client.get("/api/jobs", headers=bearer(keys["organiser"])).status_code == 403


def test_a_file_over_the_media_size_limit_is_413(server, media):
    client, keys, settings, root = server
    big = root / "big.wav"
    write_wav(big, np.random.default_rng(1).uniform(-0.1, 0.1, int(MAX_MEDIA_MB * 2**20 / 2 + SR)))
    r = post(client, keys["staff"], big, language="en")
    assert r.status_code == 413 and "KMH_MAX_MEDIA_MB" in r.json()["detail"], r.text
    assert staging_is_empty(settings)


# -- hostile media: the job fails with a plain reason ----------------------------------------------------------


@pytest.mark.parametrize(("which", "words", "within"), [
    ("text", ": not an audio or video file: it holds text", 60),
    ("cut_wav", ": the file is truncated: it holds 0 min 02 s of the 0 min 06 s it declares", 60),
    ("cut_mp3", ": the file is truncated: its audio stops at 0 min 02 s", 60),
    ("cut_m4a", ": not a readable audio or video file, or a damaged or truncated one", 60),
    ("hour", ": the recording is silent: no sound in its 1 h 00 min", 90),
    ("too_long", ": recording lasts 2 h 01 min, over the 2 h 00 min limit (KMH_MAX_MEDIA_SECONDS)", 30),
])
def test_hostile_media_fail_their_job_with_a_plain_reason(server, media, which, words, within):
    client, keys, settings, _root = server
    started = time.monotonic()
    r = post(client, keys["staff"], media[which], language="en")
    assert r.status_code == 202, r.text
    done, _seen = follow(client, r.json(), keys["staff"], timeout=300)
    elapsed = time.monotonic() - started
    print(f"{which}: failed in {elapsed:.1f} s: {done['error']}")
    assert done["state"] == "failed" and words in done["error"].removeprefix(media[which].name), done
    assert done["error"].startswith(media[which].name) and "/" not in done["error"], done["error"]
    assert elapsed < within, elapsed
    assert staging_is_empty(settings)
    assert client.get(f"/api/documents/{done['doc_id']}").status_code == 404


# -- the form -----------------------------------------------------------------------------------------------------


def test_the_form_publishes_a_recording_and_its_job_page_shows_the_seconds(server, media):
    client, keys, _settings, root = server
    page = signed_in(client, keys["organiser"])
    form = page.get("/staff/recordings")
    assert form.status_code == 200 and 'name="captions"' in form.text and SEMINAR_ID in form.text
    csrf = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    clip = write_wav(root / "form-talk.wav", np.concatenate([silence(0.5), speak(
        "The cooperative opened a bakery in Kayes.", "en-us", root), silence(0.5)]))
    vtt = "WEBVTT\n\n00:00.500 --> 00:03.000\nThe cooperative opened a bakery in Kayes.\n"
    # no language and no captions: the form again, filled in, saying which field
    r = page.post("/staff/recordings", data={"csrf_token": csrf, "title": "Bakery"},
                  files={"file": (clip.name, clip.read_bytes())}, follow_redirects=False)
    assert r.status_code == 422 and "language" in r.text and 'value="Bakery"' in r.text, r.text[:500]
    r = page.post("/staff/recordings", data={"csrf_token": csrf, "title": "Bakery", "seminar": SEMINAR_ID,
                                             "session": "1"},
                  files={"file": (clip.name, clip.read_bytes()), "captions": ("bakery.vtt", vtt.encode())},
                  follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    job_page = r.headers["location"]
    job_id = job_page.rsplit("/", 1)[1]
    done = wait_for_job(client, {"id": job_id, "url": f"/api/jobs/{job_id}"}, keys["organiser"])
    assert done["state"] == "done", done
    shown = page.get(job_page, headers={"Accept-Language": "en"})
    assert shown.status_code == 200
    total = done["progress"]["seconds_total"]
    assert f"{total} of {total} seconds transcribed" in shown.text and f"/recordings/{done['doc_id']}" in shown.text
    fr = page.get(job_page, headers={"Accept-Language": "fr"})
    assert f"{total} secondes transcrites sur {total}" in fr.text
    # the recording's own page: corrected captions at once, a new media file as a job
    rec_id = done["doc_id"]
    assert f'href="/staff/recordings/{rec_id}"' in page.get(f"/recordings/{rec_id}").text
    manage = page.get(f"/staff/recordings/{rec_id}", headers={"Accept-Language": "en"})
    assert manage.status_code == 200 and "Corrected captions" in manage.text and "Bakery" in manage.text
    fixed = "WEBVTT\n\n00:00.500 --> 00:03.000\nThe cooperative opened a pharmacy in Kayes.\n"
    r = page.post(f"/staff/recordings/{rec_id}/captions", data={"csrf_token": csrf},
                  files={"captions": ("fixed.vtt", fixed.encode())}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/recordings/{rec_id}", r.text[:500]
    assert client.get(f"/api/recordings/{rec_id}").json()["cues"][0]["text"].endswith("a pharmacy in Kayes.")
    r = page.post(f"/staff/recordings/{rec_id}/captions", data={"csrf_token": csrf},
                  files={"captions": ("bad.vtt", b"WEBVTT\n\n00:01.000 --> 00:0x.000\nHi\n")}, follow_redirects=False)
    assert r.status_code == 422 and "line 3" in r.text, r.text[:500]
    r = page.post(f"/staff/recordings/{rec_id}/media", data={"csrf_token": csrf, "language": "english"},
                  files={"file": (media["other"].name, media["other"].read_bytes())}, follow_redirects=False)
    assert r.status_code == 422 and "two-letter" in r.text, r.text[:500]
    r = page.post(f"/staff/recordings/{rec_id}/media", data={"csrf_token": csrf},
                  files={"file": ("bakery-v2.wav", clip.read_bytes() + b"\0" * 3200)}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    job_id = r.headers["location"].rsplit("/", 1)[1]
    done = wait_for_job(client, {"id": job_id, "url": f"/api/jobs/{job_id}"}, keys["organiser"])
    assert done["state"] == "done" and done["kind"] == "new_version" and done["doc_id"] == rec_id, done
    assert client.get(f"/api/documents/{rec_id}").json()["version"] == 3
    # a reader's session is refused the forms
    reader = signed_in(client, keys["reader"])
    assert reader.get("/staff/recordings").status_code == 403
    assert reader.get(f"/staff/recordings/{rec_id}").status_code == 403
