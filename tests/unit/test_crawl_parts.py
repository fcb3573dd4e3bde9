"""The website crawler's parts on their own: URLs, links, patterns, sitemaps, page metadata (ingest.crawl), and the
names and sidecar fields a crawled page gets (services.crawls)."""

from __future__ import annotations

import gzip

import pytest

from ingest.crawl import (Fetched, UrlFilter, extract_links, is_document_link, normalize_url, page_meta,
                          parse_sitemap, robots_meta)
from services.crawls import file_name, page_sidecar


def test_normalize_url_drops_fragment_default_port_and_case():
    assert normalize_url("HTTP://Example.ORG:80/a/b?x=1#top") == "http://example.org/a/b?x=1"
    assert normalize_url("https://example.org") == "https://example.org/"
    assert normalize_url("https://example.org:8443/p") == "https://example.org:8443/p"
    assert normalize_url("../c.pdf", "https://example.org/a/b/index.html") == "https://example.org/a/c.pdf"
    for bad in ("mailto:a@b.org", "javascript:void(0)", "ftp://example.org/x", "tel:+221", "http://"):
        assert normalize_url(bad, "https://example.org/") is None


def test_extract_links_resolves_dedupes_and_leaves_out_nofollow():
    html = b"""<html><head><base href="https://site.test/news/"></head><body>
      <a href="a.html">A</a> <a href="/b#part">B</a> <a href="/b">B again</a>
      <a href="https://other.test/x">elsewhere</a> <a href="mailto:x@y.z">mail</a>
      <a rel="nofollow" href="/private">no</a> <a href="rapport.pdf">PDF</a> <a>no href</a>
      <map><area href="/map-target"></map></body></html>"""
    assert extract_links(html, "https://site.test/index.html") == [
        "https://site.test/news/a.html", "https://site.test/b", "https://other.test/x",
        "https://site.test/news/rapport.pdf", "https://site.test/map-target"]
    assert extract_links(b"", "https://site.test/") == []
    assert extract_links(b"\x00\x01 not html", "https://site.test/") == []


def test_robots_meta_directives():
    assert robots_meta(b'<meta name="robots" content="NOINDEX, follow">') == {"noindex", "follow"}
    assert robots_meta(b"<p>nothing</p>") == set()


@pytest.mark.parametrize("include,exclude,url,taken", [
    ((), (), "https://s.test/anything", True),
    (("/news/*",), (), "https://s.test/news/2024/a.html", True),
    (("/news/*",), (), "https://s.test/about", False),
    ((), ("*.pdf",), "https://s.test/files/r.pdf", False),
    ((), ("*.pdf",), "https://s.test/files/r.html", True),
    (("re:^/(fr|en)/",), (), "https://s.test/fr/actualites", True),
    (("re:^/(fr|en)/",), (), "https://s.test/de/news", False),
    (("/news/*",), ("re:draft",), "https://s.test/news/draft-1", False),
    ((), ("/search*",), "https://s.test/search?q=x", False),
])
def test_url_filter_globs_and_regexes_on_the_path(include, exclude, url, taken):
    assert UrlFilter(include, exclude).allows(url) is taken


def test_url_filter_refuses_a_bad_regex_naming_it():
    with pytest.raises(ValueError, match="exclude pattern 're:\\(' is not a valid regular expression"):
        UrlFilter((), ("re:(",))


def test_document_links():
    assert is_document_link("https://s.test/a/Report.PDF")
    assert is_document_link("https://s.test/a/deck.pptx?dl=1")
    assert not is_document_link("https://s.test/a/page.html")


SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc> https://s.test/ </loc><lastmod>2024-01-01</lastmod></url>
  <url><loc>https://s.test/news/a</loc></url>
</urlset>"""
INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://s.test/sitemap-news.xml</loc></sitemap><sitemap><loc>https://s.test/sm2.xml.gz</loc></sitemap>
</sitemapindex>"""


def test_parse_sitemap_urlset_index_gzip_and_junk():
    assert parse_sitemap(SITEMAP) == (["https://s.test/", "https://s.test/news/a"], [])
    assert parse_sitemap(INDEX) == ([], ["https://s.test/sitemap-news.xml", "https://s.test/sm2.xml.gz"])
    assert parse_sitemap(gzip.compress(SITEMAP)) == (["https://s.test/", "https://s.test/news/a"], [])
    assert parse_sitemap(b"<html><body>Not found</body></html>") == ([], [])
    assert parse_sitemap(b"not xml at all") == ([], [])
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://s.test/&b;</loc></url>'
            b'</urlset>')
    urls, _ = parse_sitemap(bomb)
    assert all("aaaaaaaaaa" not in u for u in urls)  # entities are not expanded


def test_page_meta_from_og_article_tags_title_and_lang():
    html = b"""<html lang="fr-SN"><head><title>Titre court | Site OIM</title>
      <meta property="og:title" content="  Retour   et r\xc3\xa9int\xc3\xa9gration \xc3\xa0 Dakar ">
      <meta property="og:type" content="article">
      <meta property="article:published_time" content="2024-03-26T09:00:00+00:00">
      <meta property="og:locale" content="en_GB"></head><body><p>x</p></body></html>"""
    assert page_meta(html) == {"title": "Retour et réintégration à Dakar", "date": "2024-03-26", "language": "fr",
                               "type": "news"}
    plain = b"<html><head><title>About us - KMH</title><meta property='og:locale' content='en_US'></head></html>"
    assert page_meta(plain) == {"title": "About us", "language": "en"}


def test_page_sidecar_keeps_the_url_and_drops_bad_fields():
    got = Fetched("https://s.test/news/a", "https://s.test/news/a", "ok",
                  meta={"title": "A page", "date": "2024-13", "language": "fr", "type": "news"})
    assert page_sidecar(got) == {"source_url": "https://s.test/news/a", "title": "A page", "language": "fr",
                                 "doc_type": "news"}


def test_file_names_of_crawled_urls():
    assert file_name("https://s.test/", ".html") == "index.html"
    assert file_name("https://s.test/news/retour-a-dakar/", ".html") == "retour-a-dakar.html"
    assert file_name("https://s.test/a/page.php?id=3", ".html") == "page.html"
    assert file_name("https://s.test/files/Rapport%20annuel.pdf", ".pdf") == "Rapport-annuel.pdf"
    assert file_name("https://s.test/../../etc/passwd", ".html") == "passwd.html"


def test_same_site_ignores_a_leading_www_only():
    from ingest.crawl import same_site

    assert same_site("https://www.example.org/a", "example.org")
    assert same_site("http://example.org/a", "www.example.org")
    assert not same_site("https://blog.example.org/a", "example.org")
    assert not same_site("https://example.org:8080/a", "example.org")
