"""HTML pages that stand alone: inline CSS, images as data: URIs, no script, no fetch.

An operator opens them from a jump host, a ticket attachment or an air-gapped laptop, so
nothing in them may point off the file. Every value goes through escaping (jinja2
autoescape, pandas ``to_html`` escape), because outputs and errors come from the hosts.
"""
from __future__ import annotations

import base64
import html
from typing import Any, Iterable

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
th{background:#f1f3f4} tr.failed td,td.failed{background:#fce8e6} td.behind{background:#fef7e0}
pre{background:#f8f9fa;border:1px solid #e0e0e0;padding:.5em;white-space:pre-wrap;max-height:20em;
overflow:auto;font-size:.8em}
.meta{color:#555} img.timeline{max-width:100%;border:1px solid #ddd}
details{margin:.3em 0} summary{cursor:pointer;font-weight:600}
"""

PAGE = Environment(autoescape=True).from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{{ title }}</title><style>{{ css }}</style></head>
<body>
<h1>{{ title }}</h1>
{% for part in parts %}{{ part }}
{% endfor %}
</body></html>
""")


def page(title: str, parts: Iterable[str]) -> str:
    """A whole document; ``parts`` are already-safe HTML fragments made by this module."""
    from markupsafe import Markup
    return PAGE.render(title=title, css=Markup(CSS), parts=[Markup(p) for p in parts])


_FRAG = Environment(autoescape=True)


def fragment(template: str, **values: Any) -> str:
    """Render a small template with autoescape; the values are escaped unless Markup."""
    return _FRAG.from_string(template).render(**values)


def _cell(value: Any) -> str:
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return ""                                          # no <NA> / nan cells
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.10g}"
    return html.escape(str(value))


def table(df: pd.DataFrame, columns: list[str] | None = None, empty: str = "none") -> str:
    """An escaped HTML table, written directly: pandas' to_html costs ~5 ms a table, and a
    200-host report has one per host."""
    if df is None or df.empty:
        return fragment("<p class='meta'>{{ e }}</p>", e=empty)
    view = df[columns] if columns else df
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in view.columns)
    body = "\n".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
                     for row in view.itertuples(index=False, name=None))
    return (f'<table class="dataframe">\n<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{body}\n</tbody>\n</table>")


def png_img(png: bytes, alt: str, css_class: str = "timeline") -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<img class="{css_class}" id="{css_class}" alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{data}">')


def banner(kind: str, text: str) -> str:
    """kind: ok | failed | warn."""
    return fragment("<div class='banner {{ k }}' id='outcome'>{{ t }}</div>", k=kind, t=text)


def heading(text: str, anchor: str = "") -> str:
    return fragment("<h2{% if a %} id='{{ a }}'{% endif %}>{{ t }}</h2>", a=anchor, t=text)


def details(summary: str, body: str, open_: bool = False) -> str:
    from markupsafe import Markup
    return fragment("<details{% if o %} open{% endif %}><summary>{{ s }}</summary>{{ b }}</details>",
                    o=open_, s=summary, b=Markup(body))
