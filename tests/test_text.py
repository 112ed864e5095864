"""The one escaping helper: every payload renders as its own literal text, nothing else."""

from __future__ import annotations

import html

import pytest
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

from nnus_core.text import ELLIPSIS, WORD_JOINER, html_escape, md_escape, plain
from tests.payloads import FILENAME_PAYLOADS, PAYLOADS, markdown_problems

_MD = MarkdownIt("commonmark", {"html": True})


@pytest.mark.parametrize(
    "name, payload", PAYLOADS + FILENAME_PAYLOADS, ids=lambda v: v if len(v) < 20 else None
)
def test_markdown_shows_the_payload_as_plain_text(name, payload):
    assert markdown_problems(payload) or name in {
        "js-url",
        "directives",
        "rtl-override",
        "zero-width",
        "long",
    }
    escaped = md_escape(payload)
    assert markdown_problems(escaped) == []
    # One paragraph whose text is exactly the cleaned input: no tag, no link, no lost character.
    shown = _MD.render(escaped).replace(WORD_JOINER, "")  # the joiner only stops GFM autolinks
    assert shown == f"<p>{escapeHtml(plain(payload))}</p>\n"


@pytest.mark.parametrize("name, payload", PAYLOADS)
def test_html_escape_leaves_no_tag(name, payload):
    out = html_escape(payload)
    assert "<" not in out and ">" not in out and '"' not in out
    assert html.unescape(out) == plain(payload)


def test_plain_removes_invisible_and_bidi_characters_and_cuts_long_text():
    assert plain("\u202egpj.exe") == "gpj.exe"
    assert plain("Ana\u200b\u200dR\ufeff") == "AnaR"
    assert plain("a\r\n\nb\tc") == "a b c"
    assert plain(None) == ""
    assert plain("x" * 50, max_chars=10) == "x" * 9 + ELLIPSIS
    assert plain("Ærøskøbing مرحبا") == "Ærøskøbing مرحبا"  # real names in any script are kept
    assert md_escape("0001.jpg") == "0001.jpg" and md_escape("ana-maria") == "ana-maria"
    assert md_escape("1. x") == "1\\. x" and md_escape("# h") == "\\# h"


def test_csv_cell_neutralises_formulas():
    from nnus_core.text import csv_cell

    assert csv_cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)" and csv_cell("Ana") == "Ana"
    assert csv_cell("-1+2") == "'-1+2" and csv_cell("a\u202eb") == "ab"


def test_html_table_escapes_every_cell_and_shows_blanks_not_none():
    import pandas as pd

    from nnus_core.text import html_table

    frame = pd.DataFrame([{"name": "<img src=x onerror=alert(1)>", "n": 3, "ap": float("nan"), "x": None}])
    out = html_table(frame, headers={"ap": "AP <0.5>"}, test_id="t")
    assert "<img" not in out and "&lt;img src=x" in out and "AP &lt;0.5&gt;" in out
    assert "None" not in out and "nan" not in out
    assert '<td style="text-align:right">3</td>' in out and 'data-testid="t"' in out
    assert html_table([{"a": "0.93"}, {"a": "found"}]).count("text-align:right") == 1
    assert html_table(frame, ["n"]).count("<th>") == 1  # columns pick and order
    assert "<tbody></tbody>" in html_table([], ["a"])
