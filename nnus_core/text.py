"""Text from users, files and URLs made inert before it reaches Markdown, HTML or a chart label.

Everything that comes from outside (a display name, a subject or file name, an uploaded file's
name, a URL parameter, a model card or evaluation file, an error message quoting any of those)
goes through one of these before a page shows it:

    md_escape(text)    st.markdown, st.caption, st.error/warning/info/success, st.subheader,
                       widget labels and help (all of them render Markdown)
    html_escape(text)  inside an unsafe_allow_html block, and plotly labels (plotly reads <a>, <b>)
    plain(text)        where text is shown as text anyway (table cells, st.code) but must not
                       hide what it is (bidi overrides, zero-width characters) or run on forever
"""

from __future__ import annotations

import html
import re

# C0/C1 controls (newline and tab are handled apart), zero-width characters, and the bidi
# embeddings, overrides and isolates that make "gpj.exe" read as "exe.jpg".
_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
_BREAKS = re.compile(r"[\r\n\t\u0085\u2028\u2029]+")
# CommonMark lets any ASCII punctuation be escaped with a backslash, and an escaped character is
# never markup. These can open an image, a link, an HTML tag, emphasis, code, a table cell, LaTeX
# ($), an entity or an e-mail autolink anywhere in a line; the rest is escaped only where it acts
# (see md_escape), so that ordinary names such as "0001.jpg" or "ana-maria" stay readable in the
# Markdown source too.
_MD_ANYWHERE = re.compile(r"([\\`*_{}\[\]()!|<>~$&@])")
_MD_LINE_START = re.compile(
    r"^(\s*)([#+=>-])|^(\s*\d+)([.)])(?=\s|$)"
)  # headings, lists, quotes, setext rules
# GFM links bare http://..., www.... and e-mail addresses by searching the text *after* escapes are
# resolved, so a backslash cannot stop it: an invisible word joiner inside the pattern does.
_AUTOLINK = re.compile(r"(?i)(:\\?/\\?/|www\\?\.|\\?@)")
WORD_JOINER = "\u2060"
ELLIPSIS = "…"


def plain(text: object, max_chars: int | None = None) -> str:
    """One line of visible text: controls, zero-width and bidi characters removed, cut to max_chars.

    Args:
        text: anything; None becomes "".
        max_chars: longest result (an ellipsis ends a cut string); None keeps every character.
    """
    s = "" if text is None else str(text)
    s = _INVISIBLE.sub("", _BREAKS.sub(" ", s))
    if max_chars is not None and len(s) > max_chars:
        s = s[: max(max_chars - 1, 0)] + ELLIPSIS
    return s


def md_escape(text: object, max_chars: int | None = None) -> str:
    """Text that Streamlit's Markdown shows literally: no formatting, link, image or HTML."""
    s = _MD_ANYWHERE.sub(r"\\\1", plain(text, max_chars))
    s = _AUTOLINK.sub(lambda m: m.group(1)[:-1] + WORD_JOINER + m.group(1)[-1], s)
    return _MD_LINE_START.sub(lambda m: "\\".join(m.group(1, 2) if m.group(2) else m.group(3, 4)), s)


def html_escape(text: object, max_chars: int | None = None) -> str:
    """Text safe between HTML tags and in attribute values (and in plotly's label markup)."""
    return html.escape(plain(text, max_chars), quote=True)


def _inert_html(text: object) -> str:
    """html_escape for text inside Markdown with HTML: Markdown still autolinks a bare URL or an
    e-mail address there, so a word joiner breaks each pattern as md_escape does."""
    return _AUTOLINK.sub(lambda m: m.group(1)[:-1] + WORD_JOINER + m.group(1)[-1], html_escape(text))


def csv_cell(text: object, max_chars: int | None = None) -> str:
    """A CSV cell a spreadsheet shows as text: one that starts like a formula (= + - @) is prefixed with '."""
    s = plain(text, max_chars)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


_NUMBER = re.compile(r"[-+]?\d[\d.,]*%?")


def html_table(
    rows, columns: list[str] | None = None, *, headers: dict[str, str] | None = None, test_id: str = ""
) -> str:
    """A plain HTML table (every cell through html_escape) for st.markdown(unsafe_allow_html=True).

    For the handful of rows a page shows, instead of st.table / st.dataframe: those load Arrow and
    the grid component in the browser (about 1-1.4 MB of script on a first visit). `rows`: a pandas
    DataFrame or a list of dicts; `columns` (default: all) picks and orders them; `headers` renames
    them; missing and NaN values are blank, never "None". Numeric cells are right-aligned.
    """
    if hasattr(rows, "to_dict"):
        columns = list(rows.columns) if columns is None else columns
        rows = rows.to_dict("records")
    rows = list(rows)
    columns = columns if columns is not None else (list(rows[0]) if rows else [])
    headers = headers or {}

    def cell(v: object) -> tuple[str, bool]:
        if v is None or (isinstance(v, float) and v != v) or type(v).__name__ in ("NAType", "NaTType"):
            return "", False
        numeric = (isinstance(v, int | float) and not isinstance(v, bool)) or bool(
            isinstance(v, str) and _NUMBER.fullmatch(v)
        )
        return _inert_html(v), numeric

    head = "".join(f"<th>{_inert_html(headers.get(c, c))}</th>" for c in columns)
    body = []
    for r in rows:
        tds = []
        for c in columns:
            text, numeric = cell(r.get(c))
            tds.append(f'<td style="text-align:right">{text}</td>' if numeric else f"<td>{text}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    tid = f' data-testid="{html_escape(test_id)}"' if test_id else ""
    return (
        f'<div{tid} style="overflow-x:auto;max-width:100%"><table style="width:100%">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )
