"""Synthetic scans: text rendered as a page image, turned a little, blurred and speckled like a photocopy, saved as an
image-only PDF (no text layer). The OCR tests measure word accuracy on them, and `kmh synth-scan` makes the sample
corpus's scanned field note from its text."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)
BOLD_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
)
A4_POINTS = (595.28, 841.89)


class ScanError(Exception):
    """A synthetic scan cannot be made (no font found)."""


def find_font(bold: bool = False) -> Path:
    """A TrueType font of the system (DejaVu or Liberation), serif first."""
    for candidate in BOLD_CANDIDATES if bold else FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    found = sorted(Path("/usr/share/fonts").rglob("*.ttf")) if Path("/usr/share/fonts").is_dir() else []
    if found:
        return found[0]
    raise ScanError("no TrueType font under /usr/share/fonts (Debian: fonts-dejavu-core)")


@dataclass
class Degradation:
    """How the page is spoiled: a turn in degrees, a Gaussian blur radius in pixels, the share of pixels flipped to
    black or white (salt and pepper) and the standard deviation of Gaussian grey noise."""

    skew: float = 0.0
    blur: float = 0.0
    salt_pepper: float = 0.0
    noise: float = 0.0
    seed: int = 0


def render_page(paragraphs: list[tuple[str, str]], *, dpi: int = 300, size: int = 11,
                degradation: Degradation | None = None):
    """An A4 page image (PIL, grey) of ``paragraphs`` ((kind, text); kind "title" is bold and larger, "list" a bulleted
    item), degraded."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = (round(p / 72 * dpi) for p in A4_POINTS)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    margin = round(dpi * 0.9)
    body = ImageFont.truetype(str(find_font()), round(size / 72 * dpi))
    heading = ImageFont.truetype(str(find_font(bold=True)), round(size * 1.35 / 72 * dpi))
    y = margin
    for kind, text in paragraphs:
        font = heading if kind == "title" else body
        if kind == "list":
            text = f"- {text}"
        line_height = round(font.size * 1.35)
        for line in _wrap(draw, text, font, width - 2 * margin):
            if y + line_height > height - margin:
                raise ScanError("the text does not fit on one page")
            draw.text((margin, y), line, font=font, fill=0)
            y += line_height
        y += round(line_height * 0.6)
    return degrade(page, degradation or Degradation())


def _wrap(draw, text: str, font, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and draw.textlength(trial, font=font) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines


def degrade(image, d: Degradation):
    """``image`` turned, blurred and speckled as ``d`` says (deterministic for a seed)."""
    import numpy as np
    from PIL import Image, ImageFilter

    if d.skew:
        image = image.rotate(d.skew, resample=Image.BICUBIC, expand=False, fillcolor=255)
    if d.blur:
        image = image.filter(ImageFilter.GaussianBlur(d.blur))
    if d.noise or d.salt_pepper:
        rng = np.random.default_rng(d.seed)
        pixels = np.asarray(image, dtype=np.float32)
        if d.noise:
            pixels = pixels + rng.normal(0.0, d.noise, pixels.shape)
        if d.salt_pepper:
            flips = rng.random(pixels.shape)
            pixels[flips < d.salt_pepper / 2] = 0
            pixels[flips > 1 - d.salt_pepper / 2] = 255
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="L")
    return image


def noise_page(*, dpi: int = 300, seed: int = 0):
    """A page without text that went through a dirty scanner: a shadow along the binding, dust spots, grey noise and
    specks."""
    from PIL import Image, ImageDraw

    width, height = (round(p / 72 * dpi) for p in A4_POINTS)
    page = Image.new("L", (width, height), 235)
    draw = ImageDraw.Draw(page)
    rng = random.Random(seed)
    draw.rectangle((0, 0, round(width * 0.03), height), fill=60)  # the binding's shadow
    for _ in range(400):  # dust
        x, y, r = rng.randrange(width), rng.randrange(height), rng.uniform(2, 7)
        draw.ellipse((x - r, y - r * rng.uniform(0.5, 1.5), x + r, y + r), fill=rng.randrange(20, 120))
    return degrade(page, Degradation(noise=25, salt_pepper=0.02, seed=seed))


def image_pdf_page(pdf, image, dpi: int = 300) -> None:
    """Add ``image`` to an fpdf2 document as a full A4 page (landscape for a wide image) with no text layer."""
    buffer = io.BytesIO()
    image.convert("L").save(buffer, format="JPEG", quality=80)  # as scanners store pages
    pdf.add_page(format="A4", orientation="L" if image.width > image.height else "P")
    pdf.image(buffer, x=0, y=0, w=pdf.w, h=pdf.h)


def new_pdf(title: str | None = None):
    """An empty fpdf2 document; the same content gives the same bytes (a fixed creation date)."""
    from datetime import datetime, timezone

    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=timezone.utc))
    if title:
        pdf.set_title(title)
    pdf.set_creator("KMH Search synthetic scan")
    return pdf


def write_image_pdf(path: Path, images: list, *, title: str | None = None) -> Path:
    """An image-only PDF, one A4 page per image."""
    pdf = new_pdf(title)
    for image in images:
        image_pdf_page(pdf, image)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def sample_degradation(page: int) -> Degradation:
    """The look of the sample corpus's scan: a slight turn, a little blur and dust (different on each page)."""
    rng = random.Random(page)
    return Degradation(skew=rng.choice((-1.2, 0.8, 1.5)), blur=0.7, salt_pepper=0.002, noise=8, seed=page)


def synthesise_scan(source: Path, output: Path, *, force: bool = False) -> bool:
    """Render ``source`` (YAML: ``title``, ``pages``: lists of [kind, text]) as the image-only PDF ``output``, each page
    degraded like a photocopy (``sample_degradation``). Skipped when ``output`` is newer than ``source`` and this
    module (unless ``force``); True when it was written. Raises ScanError for a bad source."""
    import yaml

    if not force and output.is_file():
        newest = max(source.stat().st_mtime, Path(__file__).stat().st_mtime)
        if output.stat().st_mtime >= newest:
            return False
    try:
        spec = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScanError(f"{source}: cannot read it ({exc})") from None
    pages = spec.get("pages") if isinstance(spec, dict) else None
    if not pages or not all(isinstance(p, list) and p for p in pages):
        raise ScanError(f"{source}: 'pages' must be a list of pages, each a list of [kind, text]")
    images = []
    for number, page in enumerate(pages, start=1):
        paragraphs = []
        for item in page:
            if not (isinstance(item, list) and len(item) == 2 and item[0] in ("title", "text", "list")):
                raise ScanError(f"{source}: page {number}: each paragraph is [title|text|list, text], not {item!r}")
            paragraphs.append((item[0], str(item[1])))
        images.append(render_page(paragraphs, degradation=sample_degradation(number)))
    tmp = output.with_name(output.name + ".tmp")
    write_image_pdf(tmp, images, title=spec.get("title"))
    tmp.replace(output)
    return True
