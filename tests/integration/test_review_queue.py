"""The topic review queue across publications and recordings, through the real app (API and web pages, TestClient)
on a copy of the ingested web corpus (the sample corpus with its seminar recording, a 3-page PDF report): document
passages have suggestions, the filters (topic, document, state, kind) and paging, a batch of decisions applied all
or none and audited, the search topic filter following it, who may read and decide, retracted documents leaving
the queue, and the pages in both languages with their plain form."""

from __future__ import annotations

import re
from collections import Counter
from unittest.mock import ANY

import pytest
from fastapi.testclient import TestClient

from tests.helpers import RECORDING, REPORT_PDF, bearer, signed_in, web_site

ROLES = ("reader", "staff", "organiser", "admin")
ORGANISER = "Mariama, organiser"


@pytest.fixture(scope="module")
def site(web_template, tmp_path_factory):
    with web_site(web_template, tmp_path_factory.mktemp("review-queue"), ROLES, {"organiser": ORGANISER}) as site:
        yield site


def queue(client, key, **params) -> dict:
    r = client.get("/api/topics/review", headers=bearer(key), params=params)
    assert r.status_code == 200, r.text
    return r.json()


def decide(client, key, *decisions: tuple[str, str, str]):
    return client.post("/api/topics/review/decisions", headers=bearer(key), json={"decisions": [
        {"passage_id": p, "topic_id": t, "state": s} for p, t, s in decisions]})


def states(client, passage_id: str) -> dict[str, str]:
    return {lk["topic_id"]: lk["state"] for lk in client.get(f"/api/passages/{passage_id}/topics").json()["links"]}


def doc_suggestions(client, keys) -> tuple[str, str, list[dict]]:
    """A publication and a topic suggested for several of its passages, and those suggestions."""
    items = queue(client, keys["organiser"], kind="document", state="any", limit=200)["items"]
    (doc, topic), n = Counter((i["doc_id"], i["topic_id"]) for i in items).most_common(1)[0]
    assert n >= 3, items
    picked = [i for i in items if i["doc_id"] == doc and i["topic_id"] == topic and i["state"] == "suggested"]
    assert len(picked) >= 2, items
    return doc, topic, picked


def test_document_passages_and_recording_segments_are_in_the_queue(site):
    client, keys, ids = site
    body = queue(client, keys["organiser"], limit=200)
    items = body["items"]
    assert body["total"] >= len(items) > 0 and body["limit"] == 200
    kinds = Counter(i["kind"] for i in items)
    assert kinds["document"] > 0 and kinds["recording"] > 0, kinds
    assert all(i["state"] == "suggested" and i["text"] and i["snippet"] for i in items)
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)  # best suggestion first
    # a passage of the PDF report: its page and the link that opens the file there
    pdf = [i for i in items if i["doc_id"] == ids[REPORT_PDF]]
    assert pdf and all(i["kind"] == "document" and i["page"] in (1, 2, 3) for i in pdf)
    assert pdf[0]["url"] == f"/api/documents/{ids[REPORT_PDF]}/file#page={pdf[0]['page']}"
    assert pdf[0]["title"] == "Rapport Kindia 2023 : microentreprises et appui psychosocial"
    assert set(pdf[0]["topic_label"]) == {"fr", "en"}
    # a recording segment: its seconds and timestamp, the media from its second
    seg = next(i for i in items if i["kind"] == "recording")
    assert seg["doc_id"] == ids[RECORDING] and seg["timestamp"] and seg["start"] is not None
    assert seg["url"].startswith(f"/api/recordings/{ids[RECORDING]}/media")
    # pages follow each other: the same order, no link twice
    first, second = queue(client, keys["organiser"], limit=5), queue(client, keys["organiser"], limit=5, offset=5)
    keys_of = [(i["passage_id"], i["topic_id"]) for i in first["items"] + second["items"]]
    assert keys_of == [(i["passage_id"], i["topic_id"]) for i in items[:10]]
    # the schema names the answer's fields
    schema = client.get("/openapi.json").json()
    assert {"snippet", "page", "timestamp", "decided_by"} <= set(schema["components"]["schemas"]["ReviewItem"]
                                                                 ["properties"])
    assert "/api/topics/review/decisions" in schema["paths"]


def test_filters_by_topic_document_state_and_kind(site):
    client, keys, ids = site
    org = keys["organiser"]
    doc, topic, _ = doc_suggestions(client, keys)
    by_topic = queue(client, org, topic=topic, limit=200)
    assert by_topic["items"] and {i["topic_id"] for i in by_topic["items"]} == {topic}
    by_doc = queue(client, org, doc=doc, limit=200)
    assert by_doc["items"] and {i["doc_id"] for i in by_doc["items"]} == {doc}
    both = queue(client, org, doc=doc, topic=topic, limit=200)
    assert {(i["passage_id"], i["topic_id"]) for i in both["items"]} == {
        (i["passage_id"], i["topic_id"]) for i in by_doc["items"] if i["topic_id"] == topic}
    docs, recs = queue(client, org, kind="document", limit=1), queue(client, org, kind="recording", limit=1)
    assert docs["items"][0]["kind"] == "document" and recs["items"][0]["kind"] == "recording"
    assert docs["total"] + recs["total"] == queue(client, org, limit=1)["total"]
    assert queue(client, org, state="rejected")["total"] == 0
    assert queue(client, org, state="any", limit=1)["total"] >= queue(client, org, limit=1)["total"]
    assert queue(client, org, doc="0123456789ab")["total"] == 0  # an unknown document has nothing to review
    for params, name in (({"topic": "no-such-topic"}, "topic"), ({"state": "maybe"}, "state"),
                         ({"kind": "video"}, "kind"), ({"limit": 0}, "limit")):
        r = client.get("/api/topics/review", headers=bearer(org), params=params)
        assert r.status_code == 422 and r.json()["invalid_params"][0]["name"] == name, r.text


def test_batch_accept_applies_all_syncs_search_and_is_audited(site):
    client, keys, ids = site
    org = keys["organiser"]
    doc, topic, picked = doc_suggestions(client, keys)
    picked = picked[:2]
    segment = queue(client, org, kind="recording", limit=1)["items"][0]
    batch = [(i["passage_id"], i["topic_id"], "confirmed") for i in picked]
    batch.append((segment["passage_id"], segment["topic_id"], "rejected"))
    r = decide(client, org, *batch)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["applied"] == 3
    assert [(x["index"], x["previous"], x["state"], x["decided_by"]) for x in body["results"]] == [
        (0, "suggested", "confirmed", ORGANISER), (1, "suggested", "confirmed", ORGANISER),
        (2, "suggested", "rejected", ORGANISER)]
    for item in picked:
        assert states(client, item["passage_id"])[topic] == "confirmed"
    assert states(client, segment["passage_id"])[segment["topic_id"]] == "rejected"
    # the queue: gone from the suggestions, listed as accepted with who decided
    pending = {(i["passage_id"], i["topic_id"]) for i in queue(client, org, topic=topic, limit=200)["items"]}
    assert not pending & {(p, t) for p, t, _ in batch}
    accepted = queue(client, org, topic=topic, state="confirmed", limit=200)["items"]
    assert {i["passage_id"] for i in accepted} >= {i["passage_id"] for i in picked}
    assert all(i["decided_by"] == ORGANISER and i["decided_at"] for i in accepted)
    # the search topic filter finds those passages (their payload was synced)
    for item in picked:
        hits = client.get("/api/search", params={"q": item["text"][:200], "topic": topic, "k": 20,
                                                 "include_weak": "true"}).json()["hits"]
        assert item["passage_id"] in {h["passage_id"] for h in hits}, (item["passage_id"], hits)
        assert {h["passage_id"] for h in hits} <= {a["passage_id"] for a in accepted}
    # audited one by one, as single decisions are, in the organiser's name
    log = client.get("/api/audit", headers=bearer(keys["admin"]), params={"action": "topic.decide"}).json()["items"]
    mine = [e for e in log if e["detail"].get("batch") == 3]
    assert sorted((e["target"], e["detail"]["topic"], e["detail"]["state"]) for e in mine) == sorted(batch)
    assert all(e["actor"] == ORGANISER and e["role"] == "organiser" for e in mine)
    # undo the lot: back to suggested, out of the topic filter
    r = decide(client, org, *[(p, t, "undo") for p, t, _ in batch])
    assert r.status_code == 200 and [x["state"] for x in r.json()["results"]] == ["suggested"] * 3
    assert states(client, picked[0]["passage_id"])[topic] == "suggested"
    hits = client.get("/api/search", params={"q": picked[0]["text"][:200], "topic": topic,
                                             "include_weak": "true"}).json()["hits"]
    assert picked[0]["passage_id"] not in {h["passage_id"] for h in hits}
    undone = client.get("/api/audit", headers=bearer(keys["admin"]), params={"action": "topic.undo"}).json()["items"]
    assert len([e for e in undone if e["detail"].get("batch") == 3]) == 3
    # the single-decision route still works beside it
    r = client.post(f"/api/passages/{picked[0]['passage_id']}/topics", headers=bearer(org),
                    json={"topic_id": topic, "state": "confirmed"})
    assert r.status_code == 200
    assert client.delete(f"/api/passages/{picked[0]['passage_id']}/topics/{topic}",
                         headers=bearer(org)).status_code == 204


def test_a_batch_with_a_bad_item_applies_nothing(site):
    client, keys, ids = site
    org = keys["organiser"]
    doc, topic, picked = doc_suggestions(client, keys)
    good = picked[0]["passage_id"]
    unknown_passage = "00000000-0000-4000-8000-000000000000"
    r = decide(client, org, (good, topic, "confirmed"), (picked[1]["passage_id"], "no-such-topic", "confirmed"),
               (unknown_passage, topic, "rejected"), ("not-a-uuid", topic, "confirmed"))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    names = [p["name"] for p in r.json()["invalid_params"]]
    assert names == ["decisions[1].topic_id", "decisions[2].passage_id", "decisions[3].passage_id"], r.text
    assert "no decision was applied" in r.json()["detail"]
    assert states(client, good)[topic] == "suggested"
    # found under the write lock: an undo of a link that is not there, a link twice
    other = next(t["id"] for t in client.get("/api/topics").json() if t["id"] not in states(client, good))
    r = decide(client, org, (good, topic, "confirmed"), (good, other, "undo"))
    assert r.status_code == 422 and [p["name"] for p in r.json()["invalid_params"]] == ["decisions[1].topic_id"]
    r = decide(client, org, (good, topic, "confirmed"), (good, topic, "rejected"))
    assert r.status_code == 422 and [p["name"] for p in r.json()["invalid_params"]] == ["decisions[1].topic_id"]
    assert states(client, good)[topic] == "suggested"
    # the size of a batch
    r = decide(client, org, *[(good, topic, "confirmed")] * 501)
    assert r.status_code == 422 and "at most 500 decisions" in r.json()["detail"], r.text
    r = decide(client, org)
    assert r.status_code == 422 and r.json()["invalid_params"][0]["name"] == "decisions"
    r = client.post("/api/topics/review/decisions", headers=bearer(org),
                    json={"decisions": [{"passage_id": good, "topic_id": topic, "state": "maybe"}]})
    assert r.status_code == 422
    assert r.json()["invalid_params"][0] == {"name": "decisions.0.state", "location": "body", "reason": ANY}
    assert states(client, good)[topic] == "suggested"


def test_readers_may_not_read_or_decide(site):
    client, keys, ids = site
    doc, topic, picked = doc_suggestions(client, keys)
    body = {"decisions": [{"passage_id": picked[0]["passage_id"], "topic_id": topic, "state": "confirmed"}]}
    for headers, status in (({}, 401), (bearer(keys["reader"]), 403)):
        assert client.get("/api/topics/review", headers=headers).status_code == status
        assert client.post("/api/topics/review/decisions", headers=headers, json=body).status_code == status
    # staff may look at the queue; deciding is the organisers' (and admins')
    assert client.get("/api/topics/review", headers=bearer(keys["staff"])).status_code == 200
    assert client.post("/api/topics/review/decisions", headers=bearer(keys["staff"]), json=body).status_code == 403
    assert states(client, picked[0]["passage_id"])[topic] == "suggested"
    for role in ("reader", "staff"):
        r = signed_in(client, keys[role]).get("/review/passages", follow_redirects=False)
        assert r.status_code == 403, role
    r = TestClient(client.app).get("/review/passages", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=")


def test_review_pages_in_both_languages_with_the_plain_form(site):
    client, keys, ids = site
    organiser = signed_in(client, keys["organiser"])
    report = ids[REPORT_PDF]
    home = organiser.get("/review", headers={"Accept-Language": "en"})
    assert home.status_code == 200
    assert f'href="/review/documents/{report}"' in home.text and f'href="/review/{ids[RECORDING]}"' in home.text
    assert "Publications" in home.text and "suggestions to review" in home.text
    fr = organiser.get("/review", headers={"Accept-Language": "fr-FR"})
    assert "Enregistrements" in fr.text and "Toutes les suggestions à revoir" in fr.text
    counts = re.findall(r"([^\s>]+) suggestions? à revoir · (\S+) décidées?", fr.text)
    assert counts and all(a.isdigit() and b.isdigit() for a, b in counts), counts  # never "une" for none
    doc, topic, picked = doc_suggestions(client, keys)
    url = f"/review/passages?topic={topic}&doc={doc}&state=suggested"
    page = organiser.get(url, headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Accept selected" in page.text and "Reject selected" in page.text
    boxes = re.findall(r'name="link" value="([^"]+)"', page.text)
    assert set(boxes) == {f"{i['passage_id']}:{topic}" for i in picked}
    assert f'href="/documents/{doc}#p-{picked[0]["passage_id"]}"' in page.text
    page_fr = organiser.get(url, headers={"Accept-Language": "fr-FR"})
    assert "Accepter la sélection" in page_fr.text and "Rejeter la sélection" in page_fr.text
    assert "Accept selected" not in page_fr.text
    # recording rows link to the page where the organiser listens to the segment
    recs = organiser.get("/review/passages?kind=recording").text
    assert re.search(rf'href="/review/{ids[RECORDING]}#seg-[0-9a-f-]+"', recs)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    back = re.search(r'name="back" value="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    # nothing ticked: said on the page, nothing changes
    r = organiser.post("/review/passages/decide", data={"csrf_token": token, "back": back, "state": "confirmed"},
                       headers={"Accept-Language": "en"})
    assert r.status_code == 422 and "Tick at least one suggestion first" in r.text
    # two ticked, accepted: back to the queue, which says so; they are accepted
    r = organiser.post("/review/passages/decide", data={"csrf_token": token, "back": back, "state": "confirmed",
                                                         "link": boxes[:2]}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/review/passages?")
    assert "done=2" in r.headers["location"] and f"topic={topic}" in r.headers["location"]
    after = organiser.get(r.headers["location"], headers={"Accept-Language": "fr-FR"})
    assert "2 suggestions acceptées." in after.text
    for box in boxes[:2]:
        assert states(client, box.split(":")[0])[topic] == "confirmed"
    # the per-document page, filtered on accepted links
    doc_page = organiser.get(f"/review/documents/{doc}?state=confirmed", headers={"Accept-Language": "en"})
    assert doc_page.status_code == 200 and "Undo selected" in doc_page.text
    assert set(re.findall(r'name="link" value="([^"]+)"', doc_page.text)) >= set(boxes[:2])
    # a form cannot send the browser off the site
    r = organiser.post("/review/passages/decide", data={"csrf_token": token, "back": "https://evil.example/x",
                                                         "state": "undo", "link": boxes[:2]}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/review/passages?done=2")
    assert states(client, boxes[0].split(":")[0])[topic] == "suggested"
    assert organiser.get("/review/documents/0123456789ab").status_code == 404


def test_retracted_documents_leave_the_queue(site):
    client, keys, _ids = site
    org = keys["organiser"]
    report, topic, picked = doc_suggestions(client, keys)
    total, of_report = queue(client, org, limit=1)["total"], queue(client, org, doc=report, limit=1)["total"]
    assert of_report >= len(picked)
    assert client.delete(f"/api/documents/{report}", headers=bearer(keys["staff"])).status_code == 204
    try:
        assert queue(client, org, doc=report)["total"] == 0
        assert queue(client, org, limit=1)["total"] == total - of_report
        everything = queue(client, org, limit=200, state="any")["items"]
        assert report not in {i["doc_id"] for i in everything}
        r = decide(client, org, (picked[0]["passage_id"], topic, "confirmed"))
        assert r.status_code == 422 and r.json()["invalid_params"][0]["name"] == "decisions[0].passage_id"
        organiser = signed_in(client, keys["organiser"])
        assert f"/review/documents/{report}" not in organiser.get("/review").text
        assert organiser.get(f"/review/documents/{report}").status_code == 404
    finally:
        r = client.patch(f"/api/documents/{report}", headers=bearer(keys["staff"]), json={"status": "published"})
        assert r.status_code == 200
    assert queue(client, org, limit=1)["total"] == total


# -- the catalog's part, on SQLite and on PostgreSQL ------------------------------------------------------------


def test_catalog_queue_and_batch_on_both_backends(new_catalog_url):
    from kmh.catalog import (
        PUBLIC,
        Catalog,
        DecisionsRefused,
        DocumentRecord,
        LinkDecisionRecord,
        TopicRecord,
        sha256_bytes,
    )

    catalog = Catalog(new_catalog_url())
    try:
        catalog.replace_topics([TopicRecord(t, t, t, "d.", "d.") for t in ("alpha", "beta", "gamma")])
        docs = [catalog.add(DocumentRecord(
            sha256=sha256_bytes(f"doc {n}".encode()), filename=f"doc{n}.pdf", source_key=f"/c/doc{n}.pdf",
            title=f"Document {n}", format="pdf", mime="application/pdf", original_path=f"originals/doc{n}.pdf"),
            suggestions=[(f"00000000-0000-4000-8000-00000000{n}{p:03d}", t, score)
                         for p, (t, score) in enumerate([("alpha", 0.3 + n / 10), ("beta", 0.2), ("alpha", 0.1)])])
            for n in (1, 2)]
        a, b = docs
        links, total = catalog.review_links(limit=2)
        assert total == 6 and [lk.score for lk in links] == [0.5, 0.4]
        last = {a.id: "00000000-0000-4000-8000-000000001002", b.id: "00000000-0000-4000-8000-000000002002"}
        assert [lk.passage_id for lk in catalog.review_links(limit=2, offset=4)[0]] == [
            last[d] for d in sorted(last)]  # equal scores: by document, then passage
        assert catalog.review_links(topic_id="beta")[1] == 2
        assert {lk.doc_id for lk in catalog.review_links(doc_id=a.id)[0]} == {a.id}
        assert catalog.review_links(kind="recording")[1] == 0 and catalog.review_links(kind="document")[1] == 6
        p1 = "00000000-0000-4000-8000-000000001000"
        batch = [LinkDecisionRecord(p1, "alpha", "confirmed", a.id, 1),
                 LinkDecisionRecord(p1, "gamma", "confirmed", a.id, 1),  # not suggested: added by hand
                 LinkDecisionRecord("00000000-0000-4000-8000-000000002001", "beta", "rejected", b.id, 1)]
        # one bad item (an older version, an unknown topic): nothing applied
        with pytest.raises(DecisionsRefused) as info:
            catalog.apply_decisions(batch + [LinkDecisionRecord(p1, "beta", "confirmed", a.id, 2),
                                             LinkDecisionRecord(p1, "delta", "rejected", a.id, 1)])
        assert [(i, name) for i, name, _ in info.value.problems] == [(3, "passage_id"), (4, "topic_id")]
        assert catalog.review_links(state="confirmed")[1] == 0
        done = catalog.apply_decisions(batch, batch=3)
        assert [(o.previous, o.link.state, o.link.decided_by) for o in done.outcomes] == [
            ("suggested", "confirmed", None), (None, "confirmed", None), ("suggested", "rejected", None)]
        assert done.confirmed == {p1: ["alpha", "gamma"], "00000000-0000-4000-8000-000000002001": []}
        assert catalog.review_counts(PUBLIC) == {a.id: {"suggested": 2, "confirmed": 2},
                                                 b.id: {"suggested": 2, "rejected": 1}}
        confirmed, n = catalog.review_links(state="confirmed")
        assert n == 2 and confirmed[-1].score is None  # added by hand: last
        log, _ = catalog.audit_log(action="topic.decide")
        assert len(log) == 3 and all(e.detail["batch"] == 3 and e.actor == "cli" for e in log)
        undone = catalog.apply_decisions([LinkDecisionRecord(p1, "gamma", "undo", a.id, 1)])
        assert undone.outcomes[0].link is None and undone.confirmed == {p1: ["alpha"]}
        # a retracted document leaves the queue and refuses decisions
        catalog.set_status(b.id, "retracted")
        assert {lk.doc_id for lk in catalog.review_links(state=None, limit=50)[0]} == {a.id}
        assert b.id not in catalog.review_counts(PUBLIC)
        with pytest.raises(DecisionsRefused):
            catalog.apply_decisions([LinkDecisionRecord("00000000-0000-4000-8000-000000002000", "alpha",
                                                        "confirmed", b.id, 1)])
    finally:
        catalog.close()
