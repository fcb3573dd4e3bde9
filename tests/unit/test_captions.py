"""Caption files: WebVTT and SRT variants, malformed files named with their line, the WebVTT writer."""

from __future__ import annotations

import pytest

from ingest.media.captions import CaptionError, Cue, parse_captions, read_captions, sniff_captions, to_vtt
from ingest.model import IngestError

VTT = """WEBVTT - Séminaire de Dakar, session 2
Kind: captions
Language: fr

STYLE
::cue { color: yellow; }

REGION
id:left
width:40%

NOTE Corrigé par l'équipe
sur deux lignes

intro
00:00:01.000 --> 00:00:04.500 align:start position:10% line:0
<v Awa Diallo>Bonjour à tous, bienvenue
au séminaire.</v>

00:00:05.000 --> 00:00:08.250
<v.loud Moussa Ndiaye>Merci &amp; bonjour.

00:01:02.125 --> 00:01:05.000
<b>La réintégration</b> <i>durable</i> <c.yellow>commence</c>
<00:01:03.000>avant le&nbsp;départ &lt;3

01:00:00.000 --> 01:00:01.000
Fin.
"""


def test_webvtt_with_header_metadata_blocks_identifiers_settings_voices_and_tags():
    cues = parse_captions(VTT, "talk.vtt")
    assert cues == [
        Cue(1.0, 4.5, "Bonjour à tous, bienvenue au séminaire.", "Awa Diallo"),
        Cue(5.0, 8.25, "Merci & bonjour.", "Moussa Ndiaye"),
        Cue(62.125, 65.0, "La réintégration durable commence avant le départ <3", None),
        Cue(3600.0, 3601.0, "Fin.", None),
    ]


def test_webvtt_bytes_with_bom_and_crlf_are_read_the_same():
    data = ("\ufeff" + VTT).replace("\n", "\r\n").encode("utf-8")
    assert parse_captions(data, "talk.vtt") == parse_captions(VTT, "talk.vtt")


def test_webvtt_without_blank_line_after_header_and_with_hours_left_out():
    cues = parse_captions("WEBVTT\n00:01.500 --> 00:03.000\nHello\n\n12:34.000 --> 12:35.500\nWorld\n", "a.vtt")
    assert cues == [Cue(1.5, 3.0, "Hello"), Cue(754.0, 755.5, "World")]


SRT = """1
00:00:01,000 --> 00:00:03,200
Les migrants de retour
reçoivent une aide.

2
00:00:03,500 --> 00:00:06,000 X1:100 X2:200 Y1:10 Y2:20
{\\an8}<font color="#ffff00">Un conseiller</font> les <i>accompagne</i>.

3
01:02:03,004 --> 01:02:04,000
Fin
"""


def test_srt_with_comma_decimals_multiline_text_coordinates_and_tags():
    cues = parse_captions(SRT.encode(), "talk.srt")
    assert cues == [
        Cue(1.0, 3.2, "Les migrants de retour reçoivent une aide."),
        Cue(3.5, 6.0, "Un conseiller les accompagne."),
        Cue(3723.004, 3724.0, "Fin"),
    ]


def test_format_is_decided_by_content():
    # SRT content under a .txt name, WebVTT content under a .srt name: the content wins.
    assert parse_captions(SRT, "talk.txt")[0].text == "Les migrants de retour reçoivent une aide."
    assert parse_captions(VTT, "talk.srt")[0].speaker == "Awa Diallo"
    assert sniff_captions(VTT.encode()) == "vtt"
    assert sniff_captions("\ufeff\n" + SRT) == "srt"
    assert sniff_captions("Bonjour.\n\nUn texte ordinaire.") is None


def test_read_captions_from_disk(tmp_path):
    path = tmp_path / "seminaire.srt"
    path.write_bytes(SRT.replace("\n", "\r\n").encode("utf-8-sig"))
    assert read_captions(path) == parse_captions(SRT, "seminaire.srt")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("talk.vtt", "00:00:01.000 --> 00:00:02.000\nHello\n", "talk.vtt line 1: missing WEBVTT header"),
        ("talk.vtt", "\n1\n00:00:01,000 --> 00:00:02,000\nHello\n", "talk.vtt line 2: missing WEBVTT header (the content looks like SRT"),
        ("talk.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nOne\n\n00:01:xx.000 --> 00:01:02.000\nTwo\n",
         "talk.vtt line 6: bad timestamp '00:01:xx.000'"),
        ("talk.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nOne\n\n00:00:61.000 --> 00:01:02.000\nTwo\n",
         "talk.vtt line 6: bad timestamp '00:00:61.000'"),
        ("talk.vtt", "WEBVTT\n\nid\n00:00:05.000 --> 00:00:04.000\nBackwards\n",
         "talk.vtt line 4: cue ends before it starts"),
        ("talk.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<i> </i>\n\n", "talk.vtt line 3: cue has no text"),
        ("talk.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n", "talk.vtt line 3: cue has no text"),
        ("talk.vtt", "WEBVTT\n\njust some words\nand more\n", "talk.vtt line 3: expected a cue timing"),
        ("talk.vtt", "WEBVTT\nKind: captions\n\nNOTE nothing here\n", "talk.vtt: no cues found"),
        ("talk.srt", "1\n00:00:01,000 --> 00:00:02,000\nOne\n\n2\n00:00:03,000 -> 00:00:04,000\nTwo\n",
         "talk.srt line 6: expected a cue timing 'start --> end' after the counter 2"),
        ("talk.srt", "1\n00:00:01,000 --> 00:00:02,000\nOne\n\nstray text\n", "talk.srt line 5: expected a cue counter or timing"),
        ("talk.srt", "1\n00:00:01,000 --> 00:00:0a,000\nOne\n", "talk.srt line 2: bad timestamp '00:00:0a,000'"),
        ("notes.txt", "Bonjour.\n\nUn texte ordinaire.\n", "notes.txt line 1: neither a WebVTT header nor an SRT cue"),
        ("talk.srt", "\n\n  \n", "talk.srt: empty caption file"),
    ],
)
def test_malformed_files_name_the_file_and_line(name, text, message):
    with pytest.raises(CaptionError) as info:
        parse_captions(text, name)
    assert str(info.value).startswith(message)
    assert isinstance(info.value, IngestError) and info.value.path.name == name


def test_non_utf8_bytes_are_refused_with_their_line():
    data = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nRéintégration\n".encode("latin-1")
    with pytest.raises(CaptionError, match=r"talk.vtt line 4: not UTF-8 text \(byte 0xe9\); save the captions as UTF-8"):
        parse_captions(data, "talk.vtt")


def test_round_trip_through_the_writer():
    cues = [
        Cue(0.0, 2.5, "Bonjour & bienvenue <à> tous.", "Awa Diallo"),
        Cue(2.5, 7.125, "La réintégration --> durable.", None),
        Cue(3599.999, 3725.5, "Fin de la session.", "M. Sow"),
    ]
    text = to_vtt(cues)
    assert text.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:02.500\n<v Awa Diallo>Bonjour &amp; bienvenue &lt;à&gt; tous.\n")
    assert "00:59:59.999 --> 01:02:05.500" in text
    assert parse_captions(text, "out.vtt") == cues
    # Parsed files come back unchanged too.
    parsed = parse_captions(VTT, "talk.vtt")
    assert parse_captions(to_vtt(parsed), "talk.vtt") == parsed
    assert parse_captions(to_vtt(parse_captions(SRT, "t.srt")), "t.vtt") == parse_captions(SRT, "t.srt")


def test_writer_refuses_empty_or_backwards_cues():
    with pytest.raises(ValueError, match="no text"):
        to_vtt([Cue(1.0, 2.0, "  ")])
    with pytest.raises(ValueError, match="ends before it starts"):
        to_vtt([Cue(3.0, 2.0, "x")])
