"""Hostile strings that must render inert on every page, and the check that they did (AppTest)."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

from markdown_it import MarkdownIt

HOST = "payload.invalid"  # .invalid never resolves: a browser test sees any request to it as a leak

# (name, text). Each is what a user, a file or a URL could carry.
PAYLOADS: list[tuple[str, str]] = [
    ("md-image", f"![x](http://{HOST}/img.png)"),
    ("md-link", f"[Log in again](http://{HOST}/login)"),
    ("md-ref-link", f"[Log in][r]\n\n[r]: http://{HOST}/ref"),
    ("autolink", f"<http://{HOST}/auto>"),
    ("bare-url", f"see http://{HOST}/bare and www.{HOST}"),
    ("raw-img", f'<img src="http://{HOST}/raw.png">'),
    ("script", f"<script>fetch('http://{HOST}/script')</script>"),
    ("attr-break", f"\"'><svg onload=\"fetch('//{HOST}/svg')\">"),
    ("js-url", "[click](javascript:alert(1))"),
    ("directives", ":red[big] **bold** # head $x^2$ `code` :material/warning:"),
    ("newline-heading", f"x\n\n# Heading\n\n![y](http://{HOST}/nl.png)"),
    ("rtl-override", "\u202egpj.exe"),
    ("zero-width", "Ana\u200b\u200dR\ufeff"),
    ("long", "A" * 5000),
]
# A file name or a stem cannot hold "/": the same attacks without one.
FILENAME_PAYLOADS: list[tuple[str, str]] = [
    ("md-image", f"![x](http:{HOST}%2Fimg.png)"),
    ("md-link", f"[Log in again](http:{HOST})"),
    ("raw-img", f"<img src=http:{HOST}>"),
    ("js-url", "[click](javascript:alert(1))"),
    ("rtl-override", "\u202egpj"),
    ("long", "B" * 200),
]

_DANGEROUS_TAGS = {"script", "iframe", "svg", "object", "embed", "img", "link", "meta", "base", "form"}
_SKIP_TYPES = {"code", "text", "arrow_data_frame", "dataframe", "json", "image", "imgs", "video"}
# The box-drawing component's markup is the app's own, and its data reaches the page only through
# setAttribute/textContent (tests/test_render_payloads.py checks that its script writes no HTML).
_SKIP_TYPES |= {"bidi_component"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.bad: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            v = (value or "").strip().lower()
            if HOST in v or v.startswith("javascript:") or name.startswith("on"):
                self.bad.append(f"<{tag} {name}={value!r}>")
        if tag in _DANGEROUS_TAGS and tag != "img":
            self.bad.append(f"<{tag}>")
        if tag == "a" and any(n == "href" and HOST in (v or "") for n, v in attrs):
            self.bad.append("<a href=payload>")


_MD = MarkdownIt("commonmark", {"html": True})


def markdown_problems(source: str) -> list[str]:
    """What a Markdown source would render live: payload images/links/scripts, bare autolinks."""
    p = _Tags()
    p.feed(_MD.render(source))
    bad = list(p.bad)
    html_rendered = _MD.render(source)
    if "<img" in html_rendered and HOST in html_rendered.split("<img", 1)[1].split(">", 1)[0]:
        bad.append("<img payload>")
    if any(c in source for c in "\u202e\u200b\u200d\ufeff"):
        bad.append("invisible or bidi-override character")
    # GFM links bare http://, www. and e-mail addresses in the text after escapes are resolved
    # (markdown-it's commonmark preset does not): look for them in the rendered text.
    shown = html.unescape(re.sub(r"<[^>]*>", "", html_rendered))
    for live in (f"://{HOST}", f"www.{HOST}", f"@{HOST}"):
        if live in shown:
            bad.append(f"bare autolink {live}")
    return bad


_PLAIN_OPTIONS = {"selectbox", "multiselect", "select_slider", "text_input", "text_area"}
_NOT_SHOWN = {"id", "formId", "fragmentId", "key", "deltaPath"}  # identifiers, never rendered


def _strings(obj, out: list[str]) -> None:
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if k not in _NOT_SHOWN:
                _strings(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _strings(v, out)


def _walk(node, out: list):
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            _walk(child, out)
    out.append(node)


def page_problems(at) -> list[str]:
    """Every live payload rendering on an AppTest page (empty when all outside text is inert)."""
    from google.protobuf.json_format import MessageToDict

    nodes: list = []
    _walk(at._tree, nodes)
    bad: list[str] = []
    for node in nodes:
        kind = getattr(node, "type", "")
        proto = getattr(node, "proto", None)
        if proto is None or kind in _SKIP_TYPES:
            continue
        try:
            d = MessageToDict(proto)
        except (TypeError, AttributeError):
            continue
        if kind == "plotly_chart":
            strings: list[str] = []
            _strings(json.loads(d.get("spec", "{}") or "{}"), strings)
            bad += [f"plotly: {s[:80]!r}" for s in strings if HOST in s and "<" in s.replace("&lt;", "")]
            continue
        if kind in _PLAIN_OPTIONS:  # options are shown as plain text; label and help are Markdown
            d = {k: v for k, v in d.items() if k in ("label", "help", "placeholder")}
        strings = []
        _strings(d, strings)
        for s in strings:
            bad += [f"{kind}: {b} in {s[:80]!r}" for b in markdown_problems(s)]
    return bad
