"""The report as one self-contained HTML page: inline CSS, figures as data URIs, no script.

Every string that came from a file or a fit (file names, messages, warnings, parameter
names) goes through `esc` before it reaches the page; the only markup is written here.
The page fetches nothing: no fonts, scripts or style sheets from the network, so it opens
offline and prints (a print style sheet keeps each spectrum on its own page).
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .render import PNG_DPI, Rendered

__all__ = ["Wide", "esc", "figure_html", "fmt", "page", "table_html", "value_pm"]

_CSS = """
:root { --ink:#1b1b1b; --muted:#5d6d7e; --line:#d5d8dc; --warn:#9a4d00; --bad:#a93226;
        --ok:#1e8449; --bg:#fbfcfc; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: var(--bg); margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 1.2rem 1.5rem 3rem; }
header h1 { margin: 0 0 .2rem; font-size: 1.6rem; }
.sub { color: var(--muted); margin: 0 0 1rem; overflow-wrap: anywhere; }
nav { border: 1px solid var(--line); border-radius: 6px; padding: .5rem .9rem;
      background: #fff; margin-bottom: 1rem; }
nav a { margin-right: 1rem; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px;
          padding: .6rem 1.1rem 1rem; margin: 1rem 0; }
h2 { font-size: 1.25rem; margin: .4rem 0 .6rem; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .3rem; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: .4rem 0 .8rem; font-size: 13px; max-width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: .2rem .6rem; text-align: left;
         vertical-align: top; overflow-wrap: break-word; }
th { background: #f4f6f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
          font-size: 12px; white-space: nowrap; }
table.files { width: 100%; } table.files td:first-child { overflow-wrap: anywhere; }
li { overflow-wrap: anywhere; }
section { overflow-x: auto; }  /* a table wider than the page scrolls inside its box */
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
              font-size: 12.5px; overflow-wrap: anywhere; }
figure { margin: .5rem 0 1rem; }
figure img { width: 100%; height: auto; display: block; }
figure.wide img { max-width: 980px; } figure.narrow img { max-width: 520px; }
figcaption { color: var(--muted); font-size: 12.5px; }
ul.attention li.bad { color: var(--bad); }
ul.attention li.warn { color: var(--warn); }
.badge { display: inline-block; border-radius: 3px; padding: 0 .4rem; margin-right: .3rem;
         font-size: 12px; background: #eaecee; }
.badge.bad { background: #f5b7b1; } .badge.ok { background: #abebc6; }
.badge.warn { background: #fad7a0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.spectrum { border-top: 2px solid var(--line); margin-top: 1.2rem; }
footer { color: var(--muted); font-size: 12px; margin-top: 2rem; }
@media print {
  body { background: #fff; font-size: 11px; }
  nav { display: none; }
  section { border: none; padding: 0; }
  .spectrum { break-before: page; }
  figure, table { break-inside: avoid; }
}
"""


def esc(value: Any) -> str:
    """``value`` as HTML text: everything escaped, quotes included."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt(value: Any, digits: int = 4) -> str:
    """A number in ``digits`` significant figures ('-' for missing or non-finite)."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{x:.{digits}g}" if math.isfinite(x) else "-"


def value_pm(value: Any, stderr: Any, digits: int = 4) -> str:
    """'value ± stderr' (the stderr in 2 significant figures when it is finite)."""
    text = fmt(value, digits)
    try:
        s = float(stderr)
    except (TypeError, ValueError):
        return text
    return f"{text} ± {s:.2g}" if math.isfinite(s) and text != "-" else text


@dataclass(frozen=True)
class Wide:
    """A table cell that spans the rest of its row (e.g. an inductance, which has no R,
    C or ASR column of its own)."""

    text: str


def _cell(i: int, value: Any, width: int, numeric: Sequence[int], mono: Sequence[int]) -> str:
    if isinstance(value, Wide):
        return f'<td colspan="{max(width - i, 1)}">{esc(value.text)}</td>'
    kind = "num" if i in numeric else "mono" if i in mono else ""
    return f'<td class="{kind}">{esc(value)}</td>' if kind else f"<td>{esc(value)}</td>"


def table_html(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Sequence[int] = (),
    mono: Sequence[int] = (),
    css_class: str | None = None,
) -> str:
    """A table of escaped cells; columns in ``numeric`` are right-aligned, those in ``mono``
    monospaced (hashes); a `Wide` cell spans the rest of its row.  Long words (paths)
    wrap, so a table never runs out of its box."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(_cell(i, c, len(header), numeric, mono) for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    attr = f' class="{esc(css_class)}"' if css_class else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def facts_html(items: Iterable[tuple[str, Any]]) -> str:
    """A definition list of (label, value) pairs, both escaped."""
    return (
        '<dl class="facts">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items)
        + "</dl>"
    )


_SVG_WIDTH = re.compile(rb'<svg[^>]*?\swidth="([0-9.]+)pt"')
#: a figure is shown at most this many times its natural size (96 px per inch, 72 pt per
#: inch): a two-panel trend figure (6.8 in) and a spectrum figure (7.2 in) fill ~1000 px
_ZOOM = 1.5
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _max_width_px(image: bytes, dpi: float) -> int | None:
    """The widest a figure is shown, from its own width (in pt for SVG, pixels at ``dpi``
    for PNG): every figure at the same scale, so a one-panel trend figure is not blown up
    to the width of a two-panel one."""
    if image[:8] == _PNG_MAGIC and image[12:16] == b"IHDR":
        inches = int.from_bytes(image[16:20], "big") / dpi
        return round(inches * 96 * _ZOOM)
    match = _SVG_WIDTH.search(image[:2000])
    return round(float(match.group(1)) * 96 / 72 * _ZOOM) if match else None


def figure_html(figure: Rendered, alt: str, caption: str, *, wide: bool = True) -> str:
    """A figure as an <img> data URI (an image runs no script) with its caption: its SVG
    when it has one, else its PNG.

    Its largest width follows the figure's own size (`_max_width_px`); ``wide`` only
    chooses the fallback class for a figure whose width cannot be read."""
    image, kind_of = (figure.svg, "svg+xml") if figure.svg is not None else (figure.png, "png")
    data = base64.b64encode(image).decode("ascii")
    width = _max_width_px(image, PNG_DPI)
    size = f' style="max-width:{width}px"' if width else ""
    kind = "wide" if wide else "narrow"
    return (
        f'<figure class="{kind}"><img src="data:image/{kind_of};base64,{data}"{size} '
        f'alt="{esc(alt)}"><figcaption>{esc(caption)}</figcaption></figure>'
    )


def attention_html(items: Sequence[tuple[str, str]]) -> str:
    """A list of (level, text) with level 'bad', 'warn' or 'info'."""
    if not items:
        return "<p>Nothing to flag: every spectrum was fitted and no event was detected.</p>"
    lis = "".join(f'<li class="{esc(level)}">{esc(text)}</li>' for level, text in items)
    return f'<ul class="attention">{lis}</ul>'


def badges_html(labels: Sequence[str]) -> str:
    def kind(label: str) -> str:
        if "failed" in label:
            return "bad"
        return "ok" if label == "representative" else "warn"

    return "".join(f'<span class="badge {kind(x)}">{esc(x)}</span>' for x in labels)


def page(
    title: str,
    subtitle: str,
    sections: Sequence[tuple[str, str, str]],
    footer: str,
    *,
    meta: Mapping[str, str] | None = None,
) -> str:
    """The whole document; ``sections`` are (id, heading, inner HTML already escaped);
    ``meta``: extra ``<meta name content>`` pairs in the head."""
    head = "".join(
        f'<meta name="{esc(k)}" content="{esc(v)}">' for k, v in (meta or {}).items()
    )
    nav = "".join(f'<a href="#{esc(i)}">{esc(h)}</a>' for i, h, _ in sections)
    body = "".join(
        f'<section id="{esc(i)}"><h2>{esc(h)}</h2>{inner}</section>' for i, h, inner in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{head}<title>{esc(title)}</title><style>{_CSS}</style></head><body><main>"
        f'<header><h1>{esc(title)}</h1><p class="sub">{esc(subtitle)}</p></header>'
        f"<nav>{nav}</nav>{body}<footer>{esc(footer)}</footer></main></body></html>\n"
    )


def dict_rows(items: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> list[list[Any]]:
    """Rows of ``keys`` from each mapping (missing keys give '')."""
    return [[item.get(k, "") for k in keys] for item in items]
