"""Documents from templates (penalty decisions, bulletins): ``render`` fills an HTML template with named
fields, refusing a template that uses a field outside the allowed list; ``redact`` masks personal data
for public versions (ID numbers, phone numbers, e-mail addresses, bank cards, and the given names and
addresses); ``html_to_pdf`` lays the restricted HTML that ``render`` produces out as a PDF with Chinese
text (reportlab's built-in CID font STSong-Light: no font file needed).

The rules (what is masked, how it looks) are in docs/security.md, "Redaction of public documents".

HTML subset understood by ``html_to_pdf``: ``h1``–``h3``, ``p``, ``ul``/``ol`` with ``li``, ``table`` with
``tr`` and ``th``/``td`` (``thead``/``tbody`` allowed; ``<table data-chart="bar">`` or ``"line"`` also draws
its numbers as a chart below it: first column the categories, header row the series), inline
``strong``/``b``, ``em``/``i``, ``br``;
``html``/``head``/``body``/``div``/``section`` are transparent; ``title``, ``style`` and ``script`` are
dropped with their content; any other tag is ignored (its text kept). Other attributes are ignored.
"""

from __future__ import annotations

import html as htmllib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, ClassVar

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from jingwu.platform.errors import InvalidInput

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)


# ---------------------------------------------------------------- render

def template_fields(template: str) -> set[str]:
    """The names a template reads from its fields (jinja2's AST: variables not set inside the template)."""
    try:
        return set(meta.find_undeclared_variables(_env.parse(template)))
    except TemplateSyntaxError as exc:
        raise InvalidInput(f"The document template has a syntax error at line {exc.lineno}: {exc.message}",
                           code="template_syntax") from exc


def render(template: str, fields: Mapping[str, Any], *, allowed: Iterable[str]) -> str:
    """HTML from a Jinja2 template (sandboxed, every value escaped). A field the template uses that is
    not in ``allowed`` → InvalidInput ``unknown_template_field`` naming it, before anything is rendered;
    an allowed field missing from ``fields`` → InvalidInput ``missing_template_field``."""
    used = template_fields(template)
    allowed_set = set(allowed)
    unknown = sorted(used - allowed_set)
    if unknown:
        raise InvalidInput(f"The document template uses unknown field(s): {', '.join(unknown)} "
                           f"(allowed: {', '.join(sorted(allowed_set)) or 'none'}).", code="unknown_template_field")
    missing = sorted(used - set(fields))
    if missing:
        raise InvalidInput(f"No value for template field(s): {', '.join(missing)}.", code="missing_template_field")
    try:
        return _env.from_string(template).render(**{k: fields[k] for k in used})
    except TemplateError as exc:
        raise InvalidInput(f"The document template could not be rendered: {exc}", code="template_error") from exc


# ---------------------------------------------------------------- redact

MASK = "*"
_D = r"(?<!\d)"  # not preceded by a digit (a letter may touch: "ID110105..." is still masked)
_E = r"(?!\d)"  # not followed by one
_SEP = r"[ \-]?"

# 18-digit resident ID: 6-digit region, birth date (19xx/20xx, valid month and day), 3 digits, check digit or X
ID18 = re.compile(_D + r"\d{6}" + _SEP + r"(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])" + _SEP
                  + r"\d{3}[0-9Xx]" + _E)
# 15-digit ID of before 1999: region, yymmdd, 3 digits
ID15 = re.compile(_D + r"\d{6}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}" + _E)
# bank card: 16-19 digits, run together or in groups of 4 separated by a space or dash
CARD = re.compile(_D + r"(?:\d{4}[ \-]){3}\d{4}(?:[ \-]?\d{1,3})?" + _E + r"|" + _D + r"\d{16,19}" + _E)
# mainland mobile: 1[3-9] and 9 digits, optional +86/0086/(+86) prefix, spaces or dashes between groups
MOBILE = re.compile(r"(?:(?:\(\+?86\)|（\+?86）|\+86|0086|" + _D + r"86)[ \-]?|" + _D + r")1[3-9]\d" + _SEP
                    + r"\d{4}" + _SEP + r"\d{4}" + _E)
# landline with its area code: 0xx(x)-xxxxxxx(x), (0xx)xxxxxxxx, optional +86 and extension
LANDLINE = re.compile(r"(?:\+86[ \-]?)?(?:[(（]0?\d{2,3}[)）]|" + _D + r"0\d{2,3})"
                      + r"[ \-]?(?:\d{7,8}|\d{3,4}[ \-]\d{4})"
                      + r"(?:[ \-]?(?:转|ext\.?|x|-)[ ]?\d{1,6})?" + _E)
# a number right after a telephone label, whatever its shape
LABELLED = re.compile(r"((?:联系电话|联系方式|电话|手机|手机号|座机|(?i:tel|phone|mobile))"
                      r"\s*(?:号码)?\s*[:：]?\s*)(\+?[\d(（][\d ()（）\-]{4,}\d)")
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
LONG_DIGITS = re.compile(_D + r"\d{15,}" + _E)  # any other run of 15 or more digits


def _keep(s: str, n: int) -> str:
    """The first ``n`` digits or Latin letters of ``s`` and a mask for every other one (separators and other
    characters stay)."""
    out, kept = [], 0
    for ch in s:
        alnum = ch.isascii() and ch.isalnum()
        if alnum and kept < n:
            out.append(ch)
            kept += 1
        elif alnum:
            out.append(MASK)
        else:
            out.append(ch)
    return "".join(out)


def mask_name(name: str) -> str:
    """张三丰 → 张**; a one-character name → *; Latin names keep the first letter of the first word."""
    n = name.strip()
    if len(n) <= 1:
        return MASK * len(n)
    return n[0] + "".join(ch if ch == " " else MASK for ch in n[1:])


_ADMIN_PREFIX = re.compile(r"^(?:.{1,8}?(?:省|自治区|特别行政区))?(?:.{1,8}?(?:市|自治州|地区|盟))?"
                           r"(?:.{1,8}?(?:区|县|旗))?")


def mask_address_text(address: str) -> str:
    """四川省成都市锦江区红星路三段1号 → 四川省成都市锦江区****: the administrative prefix (province, city,
    district) stays, everything below it is masked; an address without such a prefix is masked whole."""
    a = address.strip()
    m = _ADMIN_PREFIX.match(a)
    prefix = m.group(0) if m else ""
    if len(prefix) >= len(a):
        prefix = ""
    return prefix + MASK * 4


def _email(m: re.Match[str]) -> str:
    local, _, domain = m.group(0).partition("@")
    tld = domain.rsplit(".", 1)[-1]
    return f"{local[:1]}***@***.{tld}"


def _variants(s: str) -> set[str]:
    return {s, htmllib.escape(s, quote=False), htmllib.escape(s, quote=True)}


def redact(text: str, *, names: Iterable[str] = (), addresses: Iterable[str] = ()) -> str:
    """``text`` (plain or HTML) with personal data masked: the given addresses and names (longest first,
    also in their HTML-escaped form, case-insensitively), then 18- and 15-digit ID numbers, bank cards,
    mobile numbers (with or without +86, spaces or dashes), landlines with an area code, numbers after a
    telephone label, e-mail addresses and any other run of 15 or more digits. Rules: docs/security.md."""
    out = text
    subs: list[tuple[str, str]] = []
    for a in addresses:
        if a and a.strip():
            subs.extend((v, mask_address_text(a)) for v in _variants(a.strip()))
    for n in names:
        if n and n.strip():
            subs.extend((v, mask_name(n)) for v in _variants(n.strip()))
    for old, new in sorted(subs, key=lambda p: -len(p[0])):
        out = re.compile(re.escape(old), re.IGNORECASE).sub(new.replace("\\", "\\\\"), out)
    out = ID18.sub(lambda m: _keep(m.group(0), 3), out)
    out = CARD.sub(lambda m: _keep(m.group(0), 4), out)
    out = ID15.sub(lambda m: _keep(m.group(0), 3), out)
    out = MOBILE.sub(lambda m: _keep_mobile(m.group(0)), out)
    out = LANDLINE.sub(lambda m: _keep_landline(m.group(0)), out)
    out = LABELLED.sub(lambda m: m.group(1) + _keep(m.group(2), 0), out)
    out = EMAIL.sub(_email, out)
    out = LONG_DIGITS.sub(lambda m: _keep(m.group(0), 3), out)
    return out


def _keep_mobile(s: str) -> str:
    """+86 138-1234-5678 → +86 138-****-****: the prefix and the first three digits of the number stay."""
    m = re.search(r"1[3-9]\d", s)
    start = m.start() if m else 0
    return s[:start] + _keep(s[start:], 3)


def _keep_landline(s: str) -> str:
    """028-87654321 → 028-********: the area code stays."""
    m = re.match(r"(\+86[ \-]?)?([(（]0?\d{2,3}[)）]|0\d{2,3})", s)
    head = m.group(0) if m else ""
    return head + _keep(s[len(head):], 0)


# ---------------------------------------------------------------- PDF

@dataclass
class _Block:
    kind: str  # h1 h2 h3 p li table
    parts: list[str] = field(default_factory=list)  # reportlab mini-markup for text blocks
    rows: list[list[tuple[str, bool]]] = field(default_factory=list)  # table: (markup, header?) cells
    chart: str | None = None  # table: "bar" or "line" also draws its numbers as a chart
    ordered: int = 0  # li: its number in an <ol>, 0 in a <ul>


class _Reader(HTMLParser):
    """Reads the restricted HTML into blocks; text is re-escaped for reportlab's paragraph markup."""

    BLOCKS: ClassVar[frozenset[str]] = frozenset({"h1", "h2", "h3", "p", "li"})
    INLINE: ClassVar[dict[str, str]] = {"strong": "b", "b": "b", "em": "i", "i": "i"}
    DROP: ClassVar[frozenset[str]] = frozenset({"title", "style", "script", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[_Block] = []
        self.cur: _Block | None = None
        self.table: _Block | None = None
        self.cell: list[str] | None = None
        self.cell_header = False
        self.lists: list[list[int]] = []  # per open list: [ordered?, counter]
        self.drop = 0

    def _text_target(self) -> list[str]:
        if self.cell is not None:
            return self.cell
        if self.cur is None:
            self.cur = _Block("p")
        return self.cur.parts

    def _close_block(self) -> None:
        if self.cur is not None and "".join(self.cur.parts).strip():
            self.blocks.append(self.cur)
        self.cur = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.DROP:
            self.drop += 1
        elif tag in ("ul", "ol"):
            self._close_block()
            self.lists.append([1 if tag == "ol" else 0, 0])
        elif tag in self.BLOCKS and self.cell is None:
            self._close_block()
            self.cur = _Block(tag)
            if tag == "li" and self.lists:
                self.lists[-1][1] += 1
                self.cur.ordered = self.lists[-1][1] if self.lists[-1][0] else 0
        elif tag == "table":
            self._close_block()
            chart = dict(attrs).get("data-chart")
            self.table = _Block("table", chart=chart if chart in ("bar", "line") else None)
        elif tag == "tr" and self.table is not None:
            self.table.rows.append([])
        elif tag in ("td", "th") and self.table is not None:
            if not self.table.rows:
                self.table.rows.append([])
            self.cell, self.cell_header = [], tag == "th"
        elif tag in self.INLINE:
            self._text_target().append(f"<{self.INLINE[tag]}>")
        elif tag == "br":
            self._text_target().append("<br/>")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.DROP:
            self.drop = max(0, self.drop - 1)
        elif tag in ("ul", "ol"):
            self._close_block()
            if self.lists:
                self.lists.pop()
        elif tag in self.BLOCKS and self.cell is None:
            self._close_block()
        elif tag in ("td", "th") and self.table is not None and self.cell is not None:
            self.table.rows[-1].append(("".join(self.cell).strip(), self.cell_header))
            self.cell = None
        elif tag == "table" and self.table is not None:
            if any(self.table.rows):
                self.blocks.append(self.table)
            self.table = None
        elif tag in self.INLINE:
            self._text_target().append(f"</{self.INLINE[tag]}>")

    def handle_data(self, data: str) -> None:
        if self.drop:
            return
        if self.table is not None and self.cell is None:
            return  # whitespace between cells
        text = re.sub(r"\s+", " ", data)
        if not text.strip() and self.cur is None and self.cell is None:
            return
        self._text_target().append(htmllib.escape(text, quote=False))

    def close(self) -> None:
        super().close()
        self._close_block()


_FONT = "STSong-Light"


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(_FONT))
    return _FONT


def _balanced(markup: str) -> str:
    """Close inline tags left open (reportlab refuses unbalanced markup)."""
    out = markup
    for t in ("b", "i"):
        diff = out.count(f"<{t}>") - out.count(f"</{t}>")
        if diff > 0:
            out += f"</{t}>" * diff
        elif diff < 0:
            out = f"<{t}>" * -diff + out
    return out


def _plain(markup: str) -> str:
    return htmllib.unescape(re.sub(r"<[^>]+>", "", markup)).strip()


def _number(markup: str) -> float:
    try:
        return float(_plain(markup).replace(",", "").rstrip("%"))
    except ValueError:
        return 0.0


def _chart(b: _Block, font: str) -> Any:
    """A table's numbers as a chart: the first column names the categories, the first row (header cells)
    the series, every other cell is a value (non-numbers count as 0)."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.charts.linecharts import HorizontalLineChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    rows = [r for r in b.rows if r]
    header = rows[0] if rows and all(h for _m, h in rows[0]) else None
    body = rows[1:] if header else rows
    width = max(len(r) for r in rows)
    series_names = [_plain(m) for m, _h in header[1:]] if header else [str(i) for i in range(1, width)]
    cats = [_plain(r[0][0]) for r in body]
    data = [tuple(_number(r[i][0]) if i < len(r) else 0.0 for r in body) for i in range(1, width)]
    d = Drawing(440, 200)
    chart: Any = VerticalBarChart() if b.chart == "bar" else HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 40, 40, 300, 140
    chart.data = data or [(0.0,)]
    chart.categoryAxis.categoryNames = cats or [""]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 8
    chart.valueAxis.valueMin = min(0.0, *(v for s in data for v in s)) if data and body else 0.0
    palette = [colors.HexColor(c) for c in ("#1f4e79", "#c0504d", "#9bbb59", "#8064a2", "#f79646", "#4bacc6")]
    for i in range(len(chart.data)):
        if b.chart == "bar":
            chart.bars[i].fillColor = palette[i % len(palette)]
        else:
            chart.lines[i].strokeColor = palette[i % len(palette)]
            chart.lines[i].strokeWidth = 1.5
    d.add(chart)
    legend = Legend()
    legend.x, legend.y = 355, 170
    legend.fontName, legend.fontSize = font, 8
    legend.colorNamePairs = [(palette[i % len(palette)], n) for i, n in enumerate(series_names)]
    d.add(legend)
    return d


def html_to_pdf(html: str, *, title: str) -> bytes:
    """A PDF (A4) of the restricted HTML subset above, with ``title`` as its document title. Chinese and
    Latin text in STSong-Light; tables with a grid, header cells bold on grey."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _font()
    base = ParagraphStyle("jw-body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK", spaceAfter=4)
    styles = {
        "h1": ParagraphStyle("jw-h1", parent=base, fontSize=18, leading=26, alignment=1, spaceAfter=10),
        "h2": ParagraphStyle("jw-h2", parent=base, fontSize=14, leading=21, spaceBefore=8, spaceAfter=6),
        "h3": ParagraphStyle("jw-h3", parent=base, fontSize=12, leading=18, spaceBefore=6, spaceAfter=4),
        "p": base,
        "li": ParagraphStyle("jw-li", parent=base, leftIndent=14, bulletIndent=4),
    }
    cell = ParagraphStyle("jw-cell", parent=base, fontSize=9.5, leading=13, spaceAfter=0)
    reader = _Reader()
    reader.feed(html)
    reader.close()
    story: list[Any] = []
    for b in reader.blocks:
        if b.kind == "table":
            width = max(len(r) for r in b.rows)
            data = [[Paragraph(_balanced(f"<b>{m}</b>" if head else m), cell) for m, head in r]
                    + [""] * (width - len(r)) for r in b.rows if r]
            t = Table(data, repeatRows=1 if b.rows and b.rows[0] and all(h for _m, h in b.rows[0]) else 0,
                      hAlign="LEFT", colWidths=[(A4[0] - 40 * mm) / width] * width, splitInRow=1)
            style = [("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
            style += [("BACKGROUND", (ci, ri), (ci, ri), colors.whitesmoke)
                      for ri, r in enumerate(b.rows) for ci, (_m, head) in enumerate(r) if head]
            t.setStyle(TableStyle(style))
            story += [t, Spacer(1, 6)]
            if b.chart:
                story += [_chart(b, font), Spacer(1, 8)]
        else:
            markup = _balanced("".join(b.parts).strip())
            if b.kind == "li":
                bullet = f"{b.ordered}." if b.ordered else "•"
                story.append(Paragraph(markup, styles["li"], bulletText=bullet))
            else:
                story.append(Paragraph(markup, styles[b.kind]))
    if not story:
        story.append(Paragraph(htmllib.escape(title), styles["h1"]))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=title, author="Jingwu", creator="Jingwu",
                            leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm, bottomMargin=20 * mm)
    from reportlab.platypus.doctemplate import LayoutError

    try:
        doc.build(story)
    except LayoutError as exc:  # something that cannot be split fits on no page
        raise InvalidInput(f"The document cannot be laid out on A4 pages: {str(exc)[:200]}",
                           code="document_layout") from exc
    return buf.getvalue()
