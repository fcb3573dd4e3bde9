"""OCR of PDF pages without a usable text layer: pypdfium2 renders the page, tesseract reads it.

A page is read by OCR when its text layer is missing (a scan: an image and no text) or garbage (a broken font
encoding: characters outside the expected scripts, few letters, or no dictionary-like words: ``garbage_reason``).

* The page is rendered at ``OcrOptions.dpi`` (300; fewer when the page is huge, so the image stays under
  ``MAX_PIXELS``), in grey, a 3x3 median filter taking out salt-and-pepper noise. A page left with almost no dark
  pixels is blank (no words; tesseract is not run on it).
* ``tesseract`` runs as a child process (``-l fra+eng``, TSV output: each word with its confidence). It inherits the
  parse worker's memory cap (rlimits pass to children), it is killed when the worker dies (``PR_SET_PDEATHSIG``: the
  sandbox's time limit kills the worker, and with it tesseract) and when the document's OCR deadline passes.
  ``OMP_THREAD_LIMIT=1``: one core per page.
* Rotation: when the first reading is weak, tesseract's orientation detection (``--psm 0``) says whether the page is
  turned by 90, 180 or 270 degrees; the page is read again upright and the better reading kept. Small skews (a few
  degrees) are levelled first (``estimate_skew``: tesseract's layout analysis loses lines turned clockwise by 2–3°).
* The page's confidence is the mean confidence of its words (0–100). A page under ``min_confidence``, with fewer
  than ``min_words`` words, or whose words are not text (``garbage_reason``: dust read as letters) is not indexed:
  the parser reports it ("page 3: OCR confidence 41% < 70%, not indexed").
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ingest.model import Block, IngestError

from ._common import BULLET_RE, clean_line, join_lines, strip_bullet

MAX_PIXELS = 40_000_000  # a rendered page (300 dpi A4: 8.7 million)
# Tesseract's first reading below this mean confidence, or with fewer words than min_words: the orientation is checked.
CHECK_ROTATION_BELOW = 75.0
BLANK_INK_SHARE = 0.0005  # under this share of dark pixels (after the median filter) a page is blank: no OCR run
MAX_SKEW = 5.0  # degrees a page is levelled by before OCR (more is a turned page, which orientation detection finds)
TITLE_HEIGHT_RATIO = 1.3  # a short paragraph whose letters are this much taller than the body's is a heading
TITLE_MAX_WORDS = 12

# Frequent short words of French, English (and Spanish/Portuguese, which the library also holds): a page of real text
# has many of them, a broken font encoding none.
COMMON_WORDS = frozenset("""
le la les un une des de du et ou en au aux à a est sont par pour sur dans avec que qui ne pas plus ce cette ces se
son sa ses leur leurs il elle ils nous vous on qu
the of and to in is are for on with by as at from that this be or an it was were not which their has have its
el los las con por para del se que una no lo al da do os as em um uma
""".split())
_WORD_RE = re.compile(r"\w+", re.UNICODE)
# A word of two letters or more (elided or hyphenated parts joined), or a number, with punctuation around it.
_REAL_WORD_RE = re.compile(
    r"[^\w]*(?:[^\W\d_]{2,}(?:['’-][^\W\d_]+)*|[^\W\d_]+(?:['’-][^\W\d_]+)+|\d+(?:[.,]\d+)*)[^\w]*")
_FINAL_PUNCT = tuple(".!?;:,…")


@dataclass(frozen=True)
class OcrOptions:
    """How pages are read: tesseract's languages, the rendering resolution, the quality a page needs to be indexed
    (KMH_OCR_MIN_CONFIDENCE, KMH_OCR_MIN_WORDS) and the time the whole document's OCR may take (KMH_PARSE_TIMEOUT_S)."""

    enabled: bool = True
    languages: str = "fra+eng"
    dpi: int = 300
    min_confidence: float = 70.0
    min_words: int = 10
    timeout_s: float = 300.0

    @classmethod
    def from_settings(cls, settings) -> OcrOptions:
        return cls(enabled=settings.ocr, languages=settings.ocr_languages, dpi=settings.ocr_dpi,
                   min_confidence=settings.ocr_min_confidence, min_words=settings.ocr_min_words,
                   timeout_s=settings.parse_timeout_s)


@dataclass
class OcrPage:
    """What OCR read on one page: its blocks (each carrying the page's confidence), the mean word confidence (0–100),
    the number of words (of two letters or digits or more: ``page_quality``), the rotation applied (degrees) and the
    seconds it took."""

    number: int
    blocks: list[Block] = field(default_factory=list)
    confidence: float = 0.0
    words: int = 0
    rotation: int = 0
    seconds: float = 0.0
    garbage: str | None = None  # what OCR read is not text (garbage_reason): specks read as letters


    def poor_reason(self, options: OcrOptions) -> str | None:
        """Why this page is not indexed, or None when it reads well enough."""
        if self.words < options.min_words:
            found = "no words" if self.words == 0 else f"{self.words} word{'s' if self.words > 1 else ''}"
            return f"page {self.number}: OCR found {found} (fewer than {options.min_words}), not indexed"
        if self.confidence < options.min_confidence:
            return (f"page {self.number}: OCR confidence {self.confidence:.0f}% < {options.min_confidence:.0f}%, "
                    "not indexed")
        if self.garbage is not None:
            return f"page {self.number}: OCR read no text ({self.garbage}), not indexed"
        return None


# ---------------------------------------------------------------------------------------------
# is the text layer usable?
# ---------------------------------------------------------------------------------------------


def _expected_char(ch: str) -> bool:
    """Latin letters (with accents), digits, punctuation, symbols and spaces: what FR/EN/ES/PT text is made of."""
    if ch.isspace() or ch.isdigit():
        return True
    cat = unicodedata.category(ch)
    if cat in ("Co", "Cn", "Cc", "Cs") or ch == "\ufffd":  # private use, unassigned, control, surrogate, replacement
        return False
    if cat.startswith("L"):
        return unicodedata.name(ch, "").startswith("LATIN")
    return cat[0] in "PSNMZ"


def garbage_reason(text: str) -> str | None:
    """Why a page's extracted text is not usable (a broken font encoding), or None when it reads as text.

    Garbage: more than 20% of its characters outside the expected scripts (private-use glyphs, replacement
    characters, letters of other scripts), fewer than half letters or digits, or (30 words or more) under 4% of
    frequent short words of French or English (a shifted encoding: "3UpVHQWDWLRQ" for "Présentation").
    """
    chars = [ch for ch in text if not ch.isspace()]
    if not chars:
        return None
    unexpected = sum(1 for ch in chars if not _expected_char(ch))
    if unexpected > 0.2 * len(chars):
        return f"{unexpected / len(chars):.0%} of its characters are outside the expected scripts"
    alnum = sum(1 for ch in chars if ch.isalnum())
    if len(chars) >= 20 and alnum < 0.5 * len(chars):
        return f"only {alnum / len(chars):.0%} of its characters are letters or digits"
    words = [w.lower() for w in _WORD_RE.findall(text) if len(w) > 1 and not w.isdigit()]
    if len(words) >= 30:
        common = sum(1 for w in words if w in COMMON_WORDS)
        if common < 0.04 * len(words):
            return f"{common} of its {len(words)} words are common French or English words"
    return None


# ---------------------------------------------------------------------------------------------
# tesseract
# ---------------------------------------------------------------------------------------------


def tesseract_path() -> str | None:
    return shutil.which("tesseract")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """In tesseract's process: receive SIGKILL when the process that started it (the parse worker) dies."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: the document deadline still applies
        pass


def run_tesseract(args: list[str], image: bytes, timeout_s: float) -> str:
    """tesseract reading ``image`` (PNG bytes) from stdin with ``args``, its stdout; raises TimeoutError past
    ``timeout_s`` (the child is killed) and TesseractError when it fails."""
    exe = tesseract_path()
    if exe is None:
        raise FileNotFoundError("tesseract is not installed")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        done = subprocess.run(
            [exe, "stdin", "stdout", *args], input=image, capture_output=True, timeout=max(timeout_s, 0.1), env=env,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    except subprocess.TimeoutExpired:
        raise TimeoutError from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise TesseractError(message[-1] if message else f"exit status {done.returncode}")
    return done.stdout.decode("utf-8", "replace")


class TesseractError(RuntimeError):
    """tesseract exited with an error (its last line of stderr)."""


@dataclass
class _Word:
    text: str
    conf: float
    block: int
    par: int
    line: int
    height: int


def parse_tsv(tsv: str) -> list[_Word]:
    """The words of tesseract's TSV output (level 5 rows with text), with their confidence and place."""
    words = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        try:
            conf = float(cols[10])
        except ValueError:
            continue
        if not text or conf < 0:
            continue
        words.append(_Word(text, conf, int(cols[2]), int(cols[3]), int(cols[4]), int(cols[9])))
    return words


def words_to_blocks(words: list[_Word], page: int, confidence: float) -> list[Block]:
    """Paragraphs of tesseract's layout as blocks (hyphenated line ends rejoined); a short paragraph in taller letters
    than the body is a heading, one that starts with a bullet a list item."""
    if not words:
        return []
    heights = sorted(w.height for w in words)
    body = heights[len(heights) // 2] or 1
    paragraphs: dict[tuple[int, int], list[_Word]] = {}
    for w in words:
        paragraphs.setdefault((w.block, w.par), []).append(w)
    blocks = []
    for para in paragraphs.values():
        lines: dict[int, list[str]] = {}
        for w in para:
            lines.setdefault(w.line, []).append(w.text)
        text = join_lines([clean_line(" ".join(ws)) for ws in lines.values()])
        if not text:
            continue
        hs = sorted(w.height for w in para)
        tall = hs[len(hs) // 2] >= TITLE_HEIGHT_RATIO * body
        kind = "title" if tall and len(para) <= TITLE_MAX_WORDS and not text.endswith(_FINAL_PUNCT) else "text"
        if kind == "text" and BULLET_RE.match(text):
            kind, text = "list_item", strip_bullet(text)
        blocks.append(Block(text=text, kind=kind, page=page, ocr=round(confidence, 1)))
    return blocks


def page_quality(words: list[_Word]) -> tuple[float, int]:
    """The mean confidence of the words that hold a letter or digit (specks read as "." or "°" left out), and how many
    are real words: two letters or more ("l'approche", "co-financé"), or a number, with punctuation around (dust gives
    single characters and mixtures such as "C2" or "@e")."""
    scored = [w.conf for w in words if any(ch.isalnum() for ch in w.text)]
    real = sum(1 for w in words if _REAL_WORD_RE.fullmatch(w.text))
    return (sum(scored) / len(scored) if scored else 0.0), real


def _read(image, options: OcrOptions, timeout_s: float) -> tuple[list[_Word], float, int]:
    words = parse_tsv(run_tesseract(["-l", options.languages, "--psm", "3", "tsv"], _png(image), timeout_s))
    return (words, *page_quality(words))


def _orientation(image, timeout_s: float) -> int:
    """The clockwise rotation tesseract's orientation detection says the page needs (0 when unsure or it cannot
    tell)."""
    small = image.reduce(2) if min(image.size) > 1200 else image
    try:
        out = run_tesseract(["--psm", "0", "-l", "osd"], _png(small), timeout_s)
    except TesseractError:  # "Too few characters": nothing to turn
        return 0
    rotate = re.search(r"Rotate:\s*(\d+)", out)
    confidence = re.search(r"Orientation confidence:\s*([\d.]+)", out)
    if rotate is None or confidence is None or float(confidence.group(1)) < 1.5:
        return 0
    return int(rotate.group(1)) % 360


def ink_share(image) -> float:
    """The share of dark pixels (under 128) of a grey image."""
    import numpy as np

    return float((np.asarray(image) < 128).mean()) if image.width and image.height else 0.0


def estimate_skew(image, max_degrees: float = MAX_SKEW) -> float:
    """The small turn (degrees, counter-clockwise) that makes the text lines of a grey page image level: the angle
    whose row profile of ink is the sharpest (projection profile, on a copy about 800 pixels wide)."""
    import numpy as np
    from PIL import Image

    small = image.convert("L")
    if small.width > 800:
        small = small.resize((800, max(1, round(small.height * 800 / small.width))), Image.BILINEAR)
    ink = Image.fromarray(np.where(np.asarray(small) < 140, 255, 0).astype(np.uint8))
    if not np.asarray(ink).any():
        return 0.0

    def sharpness(angle: float) -> float:
        rows = np.asarray(ink.rotate(angle, resample=Image.NEAREST), dtype=np.float32).sum(axis=1)
        return float(np.square(np.diff(rows)).sum())

    best = max(np.arange(-max_degrees, max_degrees + 1e-9, 0.5), key=sharpness)
    best = max(np.arange(best - 0.4, best + 0.41, 0.1), key=sharpness)
    return round(float(best), 2)


def ocr_image(image, number: int, options: OcrOptions, deadline: float) -> OcrPage:
    """Read one page image (PIL); raises TimeoutError past ``deadline`` (time.monotonic)."""
    from PIL import Image, ImageFilter

    started = time.perf_counter()
    image = image.convert("L").filter(ImageFilter.MedianFilter(3))
    if ink_share(image) < BLANK_INK_SHARE:  # a blank or dusty page: nothing for tesseract to read
        return OcrPage(number, seconds=time.perf_counter() - started)
    skew = estimate_skew(image)
    if abs(skew) >= 0.3:
        image = image.rotate(skew, resample=Image.BICUBIC, fillcolor=255)
    words, confidence, real = _read(image, options, deadline - time.monotonic())
    rotation = 0
    if confidence < CHECK_ROTATION_BELOW or real < options.min_words:
        turn = _orientation(image, deadline - time.monotonic())
        if turn:
            upright = image.rotate(-turn, expand=True, fillcolor=255)  # PIL turns counter-clockwise
            words2, confidence2, real2 = _read(upright, options, deadline - time.monotonic())
            if confidence2 * real2 > confidence * real:
                words, confidence, real, rotation = words2, confidence2, real2, turn
    page = OcrPage(number, confidence=confidence, words=real, rotation=rotation)
    page.blocks = words_to_blocks(words, number, confidence)
    page.garbage = garbage_reason(" ".join(w.text for w in words))
    page.seconds = time.perf_counter() - started
    return page


def _png(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# PDF pages
# ---------------------------------------------------------------------------------------------


def render_page(pdf, number: int, dpi: int):
    """Page ``number`` (1-based) of a pypdfium2 document as a grey PIL image at ``dpi`` (less for huge pages)."""
    page = pdf[number - 1]
    try:
        width, height = page.get_size()  # points
        scale = dpi / 72
        pixels = width * scale * height * scale
        if pixels > MAX_PIXELS:
            scale *= (MAX_PIXELS / pixels) ** 0.5
        return page.render(scale=scale, grayscale=True).to_pil()
    finally:
        page.close()


def has_marks(pdf, number: int) -> bool:
    """Whether page ``number`` draws an image or vector paths (something OCR could read); a blank page does not."""
    import pypdfium2.raw as pdfium_c

    page = pdf[number - 1]
    try:
        kinds = (pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_SHADING)
        return any(True for _ in page.get_objects(filter=kinds))
    finally:
        page.close()


def image_coverage(pdf, number: int) -> float:
    """The largest share of page ``number``'s area that one image covers (0 without images)."""
    import pypdfium2.raw as pdfium_c

    page = pdf[number - 1]
    try:
        width, height = page.get_size()
        best = 0.0
        for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)):
            left, bottom, right, top = obj.get_pos()
            best = max(best, (right - left) * (top - bottom) / max(width * height, 1.0))
        return best
    finally:
        page.close()


def ocr_pages(path: Path, data: bytes, numbers: list[int], options: OcrOptions) -> list[OcrPage]:
    """OCR of the given pages (1-based) of a PDF; raises IngestError when tesseract is missing or the document's OCR
    runs past ``options.timeout_s``."""
    import pypdfium2

    if tesseract_path() is None:
        raise IngestError(path, "a scanned PDF (pages without a text layer), and OCR is not available: tesseract is "
                                "not installed (make setup installs it)")
    deadline = time.monotonic() + options.timeout_s
    pages = []
    pdf = pypdfium2.PdfDocument(data)
    try:
        for number in numbers:
            try:
                image = render_page(pdf, number, options.dpi)
                pages.append(ocr_image(image, number, options, deadline))
            except TimeoutError:
                raise IngestError(path, f"parsing took longer than {options.timeout_s:g} s (KMH_PARSE_TIMEOUT_S): OCR "
                                        f"of page {number} did not finish") from None
            except TesseractError as exc:
                raise IngestError(path, f"OCR of page {number} failed (tesseract: {exc})") from None
    finally:
        pdf.close()
    return pages
