"""Website import, the transport half: which URLs of a site to fetch, fetching them politely, and what each answered.

``Crawler(options, known=...)`` walks one site and yields a ``Fetched`` per URL it looked at:

- robots.txt first (``urllib.robotparser``, as ``USER_AGENT``); a URL it disallows is skipped, never fetched. A
  robots.txt that answers 5xx or cannot be reached stops the crawl before any page (RFC 9309: assume disallowed);
- the pages: those of the sitemap when the site has one (``Sitemap:`` lines of robots.txt, else /sitemap.xml; a
  sitemap index is followed), else the same-site links of the start page, to ``depth`` links away. Either way the
  documents (PDF, DOCX, PPTX) a page links on the same site are fetched too, and ``include``/``exclude`` patterns on
  the URL path choose what is taken (``re:`` starts a regular expression, anything else is a glob);
- then the pages known from an earlier crawl (``revisit``) that this one did not reach, so that a page removed from
  the site and from its links is still found gone.

Each request waits ``delay`` seconds after the one before (or the robots.txt Crawl-delay when longer). Redirects are
followed within the site (the final URL is the page's URL; one leaving the site is skipped). A response larger than
``max_bytes`` is cut off and reported. A known URL is asked with If-None-Match / If-Modified-Since; a 304 is
``not_modified``. A 404 or 410 is ``gone``; a network error, a timeout or another status is ``failed`` with its
reason: the crawl goes on with the next URL.
"""

from __future__ import annotations

import fnmatch
import gzip
import io
import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

if TYPE_CHECKING:
    import httpx

USER_AGENT = "KMH-Search-Crawler/1.0 (KMH Search website import)"
ROBOTS_AGENT = "KMH-Search-Crawler"
# Content types imported, and the extension the parser reads them by.
CONTENT_TYPES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
}
DOCUMENT_EXTENSIONS = (".pdf", ".docx", ".pptx")
# Links never worth a request: images, media, archives, styles, scripts, feeds.
_SKIP_EXTENSIONS = re.compile(r"\.(?:png|jpe?g|gif|svg|webp|ico|bmp|tiff?|mp[34]|m4a|wav|ogg|webm|avi|mov|zip|gz|"
                              r"tgz|rar|7z|css|js|json|xml|rss|atom|woff2?|ttf|eot|exe|dmg|iso)$", re.IGNORECASE)
MAX_REDIRECTS = 5
MAX_SITEMAPS = 50
SITEMAP_MAX_BYTES = 50 * 2**20  # the sitemaps.org limit (uncompressed)

Outcome = Literal["ok", "not_modified", "gone", "failed", "skipped"]


@dataclass
class CrawlOptions:
    """What to crawl and how: the start URL, how many links away from it (without a sitemap), the path patterns,
    the delay between requests (seconds), the most URLs to fetch, the size limit of a response and the timeout."""

    url: str
    depth: int = 2
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    delay: float = 1.0
    max_pages: int = 1000
    max_bytes: int = 50 * 2**20
    timeout: float = 30.0
    use_sitemap: bool = True


@dataclass
class Known:
    """What an earlier crawl kept of a URL: its validators and the same-site links its page had."""

    etag: str | None = None
    last_modified: str | None = None
    links: list[str] = field(default_factory=list)


@dataclass
class Fetched:
    """What one URL gave. ``url`` is the final URL (after redirects within the site), ``requested`` the one asked.
    ``ok``: ``body`` holds the content, ``suffix`` the parser's extension, ``meta`` the page's metadata as
    sidecar fields (HTML pages), ``links`` its same-site links; ``not_modified``: a 304; ``gone``: 404 or 410;
    ``failed`` and ``skipped``: ``reason`` says why."""

    url: str
    requested: str
    outcome: Outcome
    depth: int = 0
    http_status: int | None = None
    body: bytes = b""
    suffix: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)
    reason: str | None = None


class CrawlError(Exception):
    """The crawl cannot start (a bad start URL, robots.txt unreachable); the message says why."""


# ------------------------------------------------------------------------------------------------ URLs


def normalize_url(url: str, base: str | None = None) -> str | None:
    """``url`` (resolved against ``base``) without its fragment, scheme and host in lower case, the default port
    dropped and an empty path made "/"; None for anything but http(s)."""
    try:
        joined = urljoin(base, url.strip()) if base else url.strip()
        parts = urlsplit(joined)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    try:
        port = parts.port
    except ValueError:
        return None
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def site_of(url: str) -> str:
    """The site a URL belongs to: its host (and port), whatever the scheme."""
    return urlsplit(url).netloc.lower()


def same_site(url: str, site: str) -> bool:
    """Whether ``url`` is on ``site``: the same host and port, a leading "www." aside (example.org and
    www.example.org are one site)."""
    return _bare(site_of(url)) == _bare(site)


def _bare(netloc: str) -> str:
    return netloc[4:] if netloc.startswith("www.") else netloc


class UrlFilter:
    """Include and exclude patterns on a URL's path (with its query): ``re:PATTERN`` is a regular expression
    searched in it, anything else a glob matched against all of it (``/news/*``, ``*.pdf``). A URL is taken when it
    matches an include pattern (or there is none) and no exclude pattern."""

    def __init__(self, include: Sequence[str] = (), exclude: Sequence[str] = ()):
        self.include = [self._compile(p, "include") for p in include]
        self.exclude = [self._compile(p, "exclude") for p in exclude]

    @staticmethod
    def _compile(pattern: str, name: str) -> re.Pattern[str]:
        if pattern.startswith("re:"):
            try:
                return re.compile(pattern[3:])
            except re.error as exc:
                raise ValueError(f"{name} pattern {pattern!r} is not a valid regular expression: {exc}") from None
        if not pattern:
            raise ValueError(f"{name} pattern must not be empty")
        return re.compile(fnmatch.translate(pattern))

    def allows(self, url: str) -> bool:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if self.include and not any(p.search(path) if _is_regex(p) else p.match(path) for p in self.include):
            return False
        return not any(p.search(path) if _is_regex(p) else p.match(path) for p in self.exclude)


def _is_regex(p: re.Pattern[str]) -> bool:
    return not p.pattern.startswith("(?s:")  # fnmatch.translate's form


def is_document_link(url: str) -> bool:
    """Whether the link's path names a document file (PDF, DOCX, PPTX)."""
    return urlsplit(url).path.lower().endswith(DOCUMENT_EXTENSIONS)


# ------------------------------------------------------------------------------------------------ HTML


def _html_root(data: bytes):
    """The page's DOM, decoded as the HTML parser decodes files (its declared charset, else UTF-8); None when it
    cannot be read."""
    from pathlib import Path

    from ingest.model import IngestError
    from ingest.parsers.html import decode_html, parse_dom

    page = Path("page.html")
    try:
        return parse_dom(page, decode_html(page, data))
    except IngestError:
        return None


def extract_links(data: bytes, base_url: str) -> list[str]:
    """The http(s) links of an HTML page (``<a href>``, ``<area href>``), resolved against its URL or its
    ``<base href>``, normalised, in page order without repeats; rel="nofollow" links left out."""
    root = _html_root(data)
    if root is None:
        return []
    base = base_url
    for node in root.iter("base"):
        href = node.get("href")
        if href:
            base = urljoin(base_url, href.strip())
            break
    seen: dict[str, None] = {}
    for node in root.iter("a", "area"):
        href = node.get("href")
        if not href or "nofollow" in (node.get("rel") or "").lower().split():
            continue
        url = normalize_url(href, base)
        if url is not None:
            seen.setdefault(url, None)
    return list(seen)


def robots_meta(data: bytes) -> set[str]:
    """The directives of the page's ``<meta name="robots">`` (noindex, nofollow, ...), in lower case."""
    root = _html_root(data)
    if root is None:
        return set()
    out: set[str] = set()
    for node in root.iter("meta"):
        if (node.get("name") or "").strip().lower() in ("robots", "kmh-search-crawler"):
            out |= {d.strip().lower() for d in (node.get("content") or "").split(",") if d.strip()}
    return out


_DATE_META = ("article:published_time", "og:published_time", "datepublished", "date", "dc.date", "dc.date.issued",
              "dcterms.date", "dcterms.issued", "pubdate", "publish-date", "article:modified_time")


def page_meta(data: bytes) -> dict[str, Any]:
    """A page's own metadata as sidecar fields (title, date, language, type), from its ``og:``/``article:`` and
    other meta tags, ``<title>`` and ``<html lang>``; raw values, validated by the caller (ingest.metadata)."""
    root = _html_root(data)
    if root is None:
        return {}
    tags: dict[str, str] = {}
    for node in root.iter("meta"):
        key = (node.get("property") or node.get("name") or node.get("itemprop") or "").strip().lower()
        value = (node.get("content") or "").strip()
        if key and value:
            tags.setdefault(key, value)
    out: dict[str, Any] = {}
    title = tags.get("og:title") or tags.get("twitter:title")
    if not title:
        node = root.find(".//head/title")
        if node is not None:
            title = re.split(r"\s+[|–—]\s+|\s+-\s+", " ".join(node.text_content().split()))[0].strip()
    if title:
        out["title"] = " ".join(title.split())
    for key in _DATE_META:
        if key in tags:
            match = re.match(r"(\d{4}(?:-\d{2}(?:-\d{2})?)?)", tags[key])
            if match:
                out["date"] = match.group(1)
                break
    lang = root.get("lang") or root.get("xml:lang") or tags.get("og:locale") or tags.get("content-language")
    if lang:
        code = re.split(r"[-_]", lang.strip())[0].lower()
        if re.fullmatch(r"[a-z]{2}", code):
            out["language"] = code
    if tags.get("og:type", "").lower() == "article":
        out["type"] = "news"
    return out


# ------------------------------------------------------------------------------------------------ sitemaps


def parse_sitemap(data: bytes) -> tuple[list[str], list[str]]:
    """The page URLs of a sitemap and the sitemaps a sitemap index lists (gzip accepted); ([], []) for anything
    that is not a sitemap. Entities are not resolved and nothing is fetched by the parser."""
    from lxml import etree

    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                data = fh.read(SITEMAP_MAX_BYTES + 1)[:SITEMAP_MAX_BYTES]
        except (OSError, EOFError):
            return [], []
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except (etree.XMLSyntaxError, ValueError):
        return [], []
    if root is None or not isinstance(root.tag, str):
        return [], []
    kind = etree.QName(root).localname
    urls = []
    for loc in root.iter("{*}loc"):
        if loc.text and loc.text.strip():
            urls.append(loc.text.strip())
    if kind == "sitemapindex":
        return [], urls
    if kind == "urlset":
        return urls, []
    return [], []


# ------------------------------------------------------------------------------------------------ crawling


@dataclass
class _Todo:
    url: str
    depth: int
    follow: bool  # whether its links are followed (pages without a sitemap, within the depth)


class Crawler:
    """One crawl of one site (see the module's docstring). ``known(url)`` gives what an earlier crawl kept of a URL
    (None: never seen); ``revisit`` the URLs known from earlier crawls; ``client`` an httpx.Client to use (else one
    is made and closed). ``requests`` counts the HTTP requests made, ``skipped`` the URLs left out, by reason."""

    def __init__(self, options: CrawlOptions, *, known: Callable[[str], Known | None] = lambda url: None,
                 revisit: Sequence[str] = (), client: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        start = normalize_url(options.url)
        if start is None:
            raise CrawlError(f"{options.url!r} is not an http(s) URL")
        if options.depth < 0:
            raise CrawlError("depth must be 0 or more")
        self.options = options
        self.start = start
        self.site = site_of(start)
        self.filter = UrlFilter(options.include, options.exclude)
        self.known = known
        self.revisit = list(revisit)
        self._client = client
        self._sleep = sleep
        self._last_request: float | None = None
        self.robots: RobotFileParser | None = None
        self.delay = options.delay
        self.requests = 0
        self.skipped: dict[str, int] = {}
        self.sitemap_urls: list[str] = []
        self.queued = 0  # URLs waiting, for progress

    # -- transport

    def _http(self) -> httpx.Client:
        if self._client is None:
            import httpx

            self._client = httpx.Client(timeout=self.options.timeout, headers={"User-Agent": USER_AGENT},
                                        follow_redirects=False)
            self._own_client = True
        return self._client

    def close(self) -> None:
        if getattr(self, "_own_client", False) and self._client is not None:
            self._client.close()
            self._client = None

    def _wait_turn(self) -> None:
        if self._last_request is not None and self.delay > 0:
            wait = self._last_request + self.delay - time.monotonic()
            if wait > 0:
                self._sleep(wait)
        self._last_request = time.monotonic()

    def _get(self, url: str, headers: dict[str, str] | None = None, max_bytes: int | None = None
             ) -> tuple[int, dict[str, str], bytes, bool]:
        """One GET: (status, headers, body read up to ``max_bytes``, whether it was cut off). Raises httpx errors."""
        limit = self.options.max_bytes if max_bytes is None else max_bytes
        self._wait_turn()
        self.requests += 1
        with self._http().stream("GET", url, headers={"User-Agent": USER_AGENT, **(headers or {})}) as r:
            declared = r.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit and r.status_code == 200:
                return r.status_code, {k.lower(): v for k, v in r.headers.items()}, b"", True
            chunks, size = [], 0
            for chunk in r.iter_bytes():
                size += len(chunk)
                if size > limit:
                    return r.status_code, {k.lower(): v for k, v in r.headers.items()}, b"", True
                chunks.append(chunk)
            return r.status_code, {k.lower(): v for k, v in r.headers.items()}, b"".join(chunks), False

    # -- robots and sitemaps

    def _load_robots(self) -> list[str]:
        """Read robots.txt; the sitemaps it names. Raises CrawlError when it must be taken as disallowing all."""
        import httpx

        url = urlunsplit((urlsplit(self.start).scheme, self.site, "/robots.txt", "", ""))
        robots = RobotFileParser(url)
        try:
            status, _, body, _ = self._get(url, max_bytes=512 * 1024)
        except httpx.HTTPError as exc:
            raise CrawlError(f"robots.txt could not be read ({_plain(exc)}): nothing was fetched") from None
        if status >= 500:
            raise CrawlError(f"robots.txt answered {status}: the site is taken as closed to crawlers for now")
        if status == 200:
            robots.parse(body.decode("utf-8", "replace").splitlines())
        else:  # 4xx: no rules
            robots.parse([])
        self.robots = robots
        crawl_delay = robots.crawl_delay(ROBOTS_AGENT)
        if crawl_delay is not None and float(crawl_delay) > self.delay:
            self.delay = float(crawl_delay)
        return list(robots.site_maps() or [])

    def _allowed(self, url: str) -> bool:
        return self.robots is None or self.robots.can_fetch(ROBOTS_AGENT, url)

    def _sitemap_pages(self, named: list[str]) -> list[str]:
        """The same-site page URLs of the site's sitemaps (those robots.txt names, else /sitemap.xml)."""
        import httpx

        todo = deque(named or [urlunsplit((urlsplit(self.start).scheme, self.site, "/sitemap.xml", "", ""))])
        seen: set[str] = set()
        pages: dict[str, None] = {}
        while todo and len(seen) < MAX_SITEMAPS:
            url = normalize_url(todo.popleft())
            if url is None or url in seen or not same_site(url, self.site):
                continue
            seen.add(url)
            try:
                status, _, body, cut = self._get(url, max_bytes=SITEMAP_MAX_BYTES)
            except httpx.HTTPError:
                continue
            if status != 200 or cut:
                continue
            urls, sitemaps = parse_sitemap(body)
            todo.extend(sitemaps)
            for u in urls:
                n = normalize_url(u)
                if n is not None and same_site(n, self.site):
                    pages.setdefault(n, None)
        return list(pages)

    # -- one URL

    def fetch(self, url: str, depth: int = 0) -> Fetched:
        """Fetch ``url`` (conditionally when known), following redirects within the site."""
        import httpx

        requested = url
        for _ in range(MAX_REDIRECTS + 1):
            known = self.known(url)
            headers = {}
            if known is not None and known.etag:
                headers["If-None-Match"] = known.etag
            if known is not None and known.last_modified:
                headers["If-Modified-Since"] = known.last_modified
            try:
                status, h, body, cut = self._get(url, headers)
            except httpx.TimeoutException:
                return Fetched(url, requested, "failed", depth, reason="timed out")
            except httpx.HTTPError as exc:
                return Fetched(url, requested, "failed", depth, reason=_plain(exc))
            if status in (301, 302, 303, 307, 308):
                target = normalize_url(h.get("location", ""), url)
                if target is None or not same_site(target, self.site):
                    return Fetched(url, requested, "skipped", depth, status, reason="redirected off the site")
                if not self._allowed(target):
                    return Fetched(target, requested, "skipped", depth, status, reason="disallowed by robots.txt")
                url = target
                continue
            etag, modified = h.get("etag"), h.get("last-modified")
            if status == 304:
                return Fetched(url, requested, "not_modified", depth, status, etag=etag or (known and known.etag),
                               last_modified=modified or (known and known.last_modified),
                               links=list(known.links) if known else [])
            if status in (404, 410):
                return Fetched(url, requested, "gone", depth, status)
            if status != 200:
                return Fetched(url, requested, "failed", depth, status, reason=f"HTTP {status}")
            if cut:
                mb = self.options.max_bytes / 2**20
                return Fetched(url, requested, "failed", depth, status, reason=f"larger than the {mb:g} MB limit")
            ctype = h.get("content-type", "").split(";")[0].strip().lower()
            suffix = CONTENT_TYPES.get(ctype)
            if suffix is None and ctype in ("", "application/octet-stream"):
                path = urlsplit(url).path.lower()
                suffix = next((s for s in DOCUMENT_EXTENSIONS if path.endswith(s)), None)
            if suffix is None:
                return Fetched(url, requested, "skipped", depth, status, reason=f"not a page or document ({ctype})")
            got = Fetched(url, requested, "ok", depth, status, body, suffix, etag, modified)
            if suffix == ".html":
                directives = robots_meta(body)
                if "nofollow" not in directives and "none" not in directives:
                    got.links = [u for u in extract_links(body, url) if same_site(u, self.site)]
                if "noindex" in directives or "none" in directives:
                    got.outcome, got.reason = "skipped", "the page asks not to be indexed (noindex)"
                else:
                    got.meta = page_meta(body)
            return got
        return Fetched(url, requested, "failed", depth, reason=f"more than {MAX_REDIRECTS} redirects")

    # -- the walk

    def crawl(self) -> Iterator[Fetched]:
        """Every URL looked at, as it is done (see the module's docstring). Raises CrawlError before the first page
        when the crawl cannot start."""
        named = self._load_robots()
        seeds = [self.start]
        from_sitemap = False
        if self.options.use_sitemap:
            self.sitemap_urls = self._sitemap_pages(named)
            if self.sitemap_urls:
                from_sitemap = True
                seeds += [u for u in self.sitemap_urls if u != self.start]
        queue: deque[_Todo] = deque(_Todo(u, 0, not from_sitemap) for u in seeds)
        queued: set[str] = set(seeds)
        done: set[str] = set()
        fetched = 0
        revisits = deque(self.revisit)

        def skip(reason: str) -> None:
            self.skipped[reason] = self.skipped.get(reason, 0) + 1

        while queue or revisits:
            if queue:
                todo = queue.popleft()
            else:
                url = revisits.popleft()
                if url in done or url in queued:
                    continue
                queued.add(url)
                todo = _Todo(url, 0, False)
            if todo.url in done:  # reached by a redirect meanwhile
                continue
            self.queued = len(queue) + len(revisits)
            if todo.url != self.start:
                if not self.filter.allows(todo.url):
                    skip("excluded by the patterns")
                    continue
                if not self._allowed(todo.url):
                    skip("disallowed by robots.txt")
                    yield Fetched(todo.url, todo.url, "skipped", todo.depth, reason="disallowed by robots.txt")
                    continue
            if fetched >= self.options.max_pages:
                skip(f"over the limit of {self.options.max_pages} URLs")
                continue
            got = self.fetch(todo.url, todo.depth)
            fetched += 1
            if got.url != todo.url and got.url in done:
                done.add(todo.url)  # a redirect to a URL already crawled: nothing new
                skip("redirected to a URL already crawled")
                continue
            done.update((todo.url, got.url))
            if got.outcome == "skipped" and got.reason:
                skip(got.reason)
            yield got
            for link in got.links:
                if link in queued or link in done or not same_site(link, self.site):
                    continue
                if _SKIP_EXTENSIONS.search(urlsplit(link).path):
                    continue
                if is_document_link(link):
                    queued.add(link)
                    queue.append(_Todo(link, todo.depth + 1, False))
                elif todo.follow and todo.depth < self.options.depth:
                    queued.add(link)
                    queue.append(_Todo(link, todo.depth + 1, True))
        self.queued = 0


def _plain(exc: Exception) -> str:
    """A network error in a few words (the exception's class and message)."""
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text
