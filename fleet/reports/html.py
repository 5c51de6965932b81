"""HTML pages that stand alone: inline CSS, images as data: URIs, no script, no fetch.
Tables carry human headers, lists wrap as chips and every table fits the page width (a
table wider than the window scrolls inside its own box, the page never does).

An operator opens them from a jump host, a ticket attachment or an air-gapped laptop, so
nothing in them may point off the file. Every value goes through escaping (jinja2
autoescape, pandas ``to_html`` escape), because outputs and errors come from the hosts.
"""
from __future__ import annotations

import base64
import functools
import html
from typing import Any, Callable, Iterable

import pandas as pd
from jinja2 import Environment

CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:1.5em;color:#1b1b1b}
h1{font-size:1.5em;margin-bottom:.2em}
h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
.banner{padding:.8em 1em;border-radius:6px;font-size:1.1em;margin:.8em 0}
.ok{background:#e6f4ea;border:1px solid #34a853} .failed{background:#fce8e6;border:1px solid #d93025}
.warn{background:#fef7e0;border:1px solid #f9ab00}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f1f3f4} tr.failed td,td.failed{background:#fce8e6}
tr.behind td,td.behind{background:#fef7e0} tr.running td{background:#e8f0fe}
pre{background:#f8f9fa;border:1px solid #e0e0e0;padding:.5em;white-space:pre-wrap;max-height:20em;
overflow:auto;font-size:.8em}
.meta{color:#555} img.timeline{max-width:100%;border:1px solid #ddd}
details{margin:.3em 0} summary{cursor:pointer;font-weight:600}
.live{background:#e8f0fe;border:1px solid #1a73e8}
.wide{max-width:100%;overflow-x:auto} table{max-width:100%}
td{overflow-wrap:break-word} code{overflow-wrap:anywhere}
.item{display:inline-block;white-space:nowrap;margin:0 .25em .15em 0;padding:0 .3em;
background:#f1f3f4;border-radius:3px}
.swatch{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.3em;
vertical-align:-.05em;border:1px solid rgba(0,0,0,.25)}
.nw{white-space:nowrap} nav.attempts{margin:.4em 0} nav.attempts a,nav.attempts b{margin-right:.8em}
"""

# Column names as people read them (the CSV files keep the raw names, for tools).
HEADERS = {
    "dc": "DC", "postgres": "PostgreSQL", "waves_run": "Waves run", "busy_s": "Busy (s)",
    "duration_s": "Took (s)", "exit_status": "Exit", "action": "Step", "steps_ok": "OK",
    "steps_failed": "Failed", "steps_interrupted": "Interrupted", "steps_skipped": "Skipped",
    "steps_not_run": "Not run", "id": "Run", "not_running": "Not running",
    "final_versions": "Final versions", "first_start": "First start", "last_end": "Last end",
}
# Columns holding space-separated lists: shown as chips that wrap, not one long line.
LISTS = {"components", "waves_run", "waves", "hosts", "final_versions", "versions", "behind",
         "not_running"}
WAVE_LISTS = {"wave", "waves_run", "waves"}     # chips with the wave's colour


def header(column: str) -> str:
    if column in HEADERS:
        return HEADERS[column]
    text = column.replace("_", " ")
    return text[:1].upper() + text[1:]


PAGE = Environment(autoescape=True).from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
{% if refresh %}<meta http-equiv="refresh" content="{{ refresh }}">
{% endif %}<title>{{ title }}</title><style>{{ css }}</style></head>
<body>
<h1>{{ title }}</h1>
{% for part in parts %}{{ part }}
{% endfor %}
</body></html>
""")


def page(title: str, parts: Iterable[str], refresh: int = 0) -> str:
    """A whole document; ``parts`` are already-safe HTML fragments made by this module.
    ``refresh``: seconds after which the browser reloads it (a live page; no script)."""
    from markupsafe import Markup
    return PAGE.render(title=title, css=Markup(CSS), parts=[Markup(p) for p in parts],
                       refresh=refresh)


_FRAG = Environment(autoescape=True)
_compiled = functools.lru_cache(maxsize=128)(_FRAG.from_string)   # a 200-host page: 1 not 200


def fragment(template: str, **values: Any) -> str:
    """Render a small template with autoescape; the values are escaped unless Markup."""
    return _compiled(template).render(**values)


def swatch(wave: str) -> str:
    from fleet.reports.colours import wave_colour
    return f'<span class="swatch" style="background:{wave_colour(wave)}"></span>'


def _cell(value: Any, column: str = "") -> str:
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return ""                                          # no <NA> / nan cells
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.10g}"
    if column in LISTS or column in WAVE_LISTS:
        mark = swatch if column in WAVE_LISTS else (lambda _: "")
        return " ".join(f'<span class="item">{mark(v)}{html.escape(v)}</span>'
                        for v in str(value).split())
    text = html.escape(str(value))
    # a short word with a hyphen ("dc-1") would break after it in a narrow column
    return f'<span class="nw">{text}</span>' if "-" in text and len(text) <= 12 \
        and " " not in text else text


def table(df: pd.DataFrame, columns: list[str] | None = None, empty: str = "none",
          row_class: Callable[[pd.DataFrame], list[str]] | None = None, id_: str = "") -> str:
    """An escaped HTML table, written directly: pandas' to_html costs ~5 ms a table, and a
    200-host report has one per host. ``row_class`` gives each row a CSS class."""
    if df is None or df.empty:
        return fragment("<p class='meta'>{{ e }}</p>", e=empty)
    view = df[columns] if columns else df
    cols = [str(c) for c in view.columns]
    head = "".join(f"<th>{html.escape(header(c))}</th>" for c in cols)
    classes = row_class(view) if row_class else [""] * len(view)
    rows = view.itertuples(index=False, name=None)
    body = "\n".join(f"<tr{cls}>"
                     + "".join(f"<td>{_cell(v, c)}</td>" for v, c in zip(row, cols, strict=True))
                     + "</tr>" for row, cls in zip(rows, (f' class="{c}"' if c else ""
                                                          for c in classes), strict=True))
    ident = f' id="{html.escape(id_)}"' if id_ else ""
    return (f'<div class="wide"><table class="dataframe"{ident}>\n<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{body}\n</tbody>\n</table></div>")


def png_img(png: bytes, alt: str, css_class: str = "timeline") -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<img class="{css_class}" id="{css_class}" alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{data}">')


def banner(kind: str, text: str) -> str:
    """kind: ok | failed | warn | live."""
    return fragment("<div class='banner {{ k }}' id='outcome'>{{ t }}</div>", k=kind, t=text)


def heading(text: str, anchor: str = "") -> str:
    return fragment("<h2{% if a %} id='{{ a }}'{% endif %}>{{ t }}</h2>", a=anchor, t=text)


def details(summary: str, body: str, open_: bool = False) -> str:
    from markupsafe import Markup
    return fragment("<details{% if o %} open{% endif %}><summary>{{ s }}</summary>{{ b }}</details>",
                    o=open_, s=summary, b=Markup(body))
