"""Documents: templates refuse unknown fields (found in the template's syntax tree, before rendering),
values are escaped, the public version carries no seeded name, ID number, phone number, e-mail, bank card
or address (in the HTML and in the PDF's extracted text), and the PDF opens with its Chinese title."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from jingwu.platform.documents import html_to_pdf, mask_name, redact, render, template_fields
from jingwu.platform.errors import InvalidInput

DECISION = """<h1>{{ unit }}行政处罚决定书</h1>
<p>文号：{{ doc_number }}</p>
<h2>当事人</h2>
<table>
<tr><th>姓名</th><th>身份证号</th><th>联系电话</th><th>住址</th></tr>
<tr><td>{{ party_name }}</td><td>{{ party_id }}</td><td>{{ party_phone }}</td><td>{{ party_address }}</td></tr>
</table>
<h2>违法事实</h2>
<p>{{ facts }}</p>
<h3>处罚依据</h3>
<ul>{% for b in basis %}<li>{{ b }}</li>{% endfor %}</ul>
<p><strong>处罚决定：</strong>{{ decision }}</p>
"""
ALLOWED = ("unit", "doc_number", "party_name", "party_id", "party_phone", "party_address", "facts", "basis",
           "decision")

SEED = {
    "unit": "成都市公安局锦江区分局",
    "doc_number": "锦公(治)行罚决字〔2026〕1234号",
    "party_name": "欧阳建国",
    "party_id": "51010419850317281X",
    "party_phone": "+86 139-8888-7777",
    "party_address": "四川省成都市锦江区春熙路88号5栋2单元301",
    "facts": ("2026年11月3日，欧阳建国在春熙路88号与王小明（电话028-86661234，手机13512345678，"
              "邮箱wangxm@example.com，身份证号110101900307123）发生纠纷，殴打王小明，"
              "并将赔偿款转入其银行卡6222 0202 0011 2233 445。"),
    "basis": ["《中华人民共和国治安管理处罚法》第四十三条第一款"],
    "decision": "对欧阳建国处以行政拘留五日，并处罚款500元。",
}
PERSONAL = ["欧阳建国", "建国", "王小明", "小明", "51010419850317281X", "139-8888-7777", "13988887777", "8888-7777",
            "春熙路88号", "5栋2单元301", "86661234", "13512345678", "wangxm", "example.com", "110101900307123",
            "0011 2233", "6222020200112233445"]


def public_html() -> str:
    html = render(DECISION, SEED, allowed=ALLOWED)
    return redact(html, names=["欧阳建国", "王小明"], addresses=["四川省成都市锦江区春熙路88号5栋2单元301",
                                                                 "春熙路88号"])


def test_template_fields_come_from_the_syntax_tree() -> None:
    assert template_fields(DECISION) == set(ALLOWED)
    # a loop variable and a variable set inside the template are not fields
    assert template_fields("{% set x = 1 %}{% for i in items %}{{ i }}{{ x }}{% endfor %}") == {"items"}


def test_an_unknown_field_is_refused_by_name_before_rendering() -> None:
    with pytest.raises(InvalidInput) as e:
        render("<p>{{ party_name }} {{ secret_note }}</p>", {"party_name": "x"}, allowed=["party_name"])
    assert e.value.code == "unknown_template_field" and "secret_note" in e.value.message
    with pytest.raises(InvalidInput) as e:  # used inside a condition only: still a field
        render("{% if mood %}x{% endif %}", {}, allowed=[])
    assert e.value.code == "unknown_template_field" and "mood" in e.value.message


def test_missing_values_and_bad_syntax_are_refused() -> None:
    with pytest.raises(InvalidInput) as e:
        render("<p>{{ a }}</p>", {}, allowed=["a"])
    assert e.value.code == "missing_template_field"
    with pytest.raises(InvalidInput) as e:
        render("<p>{{ a </p>", {"a": 1}, allowed=["a"])
    assert e.value.code == "template_syntax"


def test_the_sandbox_refuses_reaching_into_python() -> None:
    with pytest.raises(InvalidInput):
        render("{{ a.__class__.__mro__[1].__subclasses__() }}", {"a": "x"}, allowed=["a"])


def test_values_are_escaped() -> None:
    html = render("<p>{{ facts }}</p>", {"facts": '<script>alert("x")</script> & 张三'}, allowed=["facts"])
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; 张三" in html


@pytest.mark.parametrize(("raw", "gone"), [
    ("身份证 51010419850317281X。", "51010419850317281X"),
    ("身份证 51010419850317281x。", "51010419850317281x"),
    ("ID:510104 19850317 281X", "19850317"),
    ("旧证号510104850317281", "510104850317281"),
    ("手机13812345678", "13812345678"),
    ("手机 +86 138 1234 5678", "1234 5678"),
    ("手机 +86-138-1234-5678", "1234-5678"),
    ("手机8613812345678", "12345678"),
    ("电话(028)86661234", "86661234"),
    ("电话：010-6512-3456", "6512-3456"),
    ("Tel: 8666 1234", "8666 1234"),
    ("mail Zhang.San+case@mail.example.org", "Zhang.San"),
    ("卡号 6222020200112233445", "020200112233445"),
    ("卡号 6222-0202-0011-2233", "0202-0011-2233"),
    ("流水号 123456789012345678901", "456789012345678901"),
])
def test_patterns_are_masked(raw: str, gone: str) -> None:
    out = redact(raw)
    assert gone not in out, out
    assert "*" in out


def test_ordinary_numbers_stay() -> None:
    text = "2026年11月3日 14:05，罚款500元，拘留五日，文号〔2026〕1234号，金额12345678元，第四十三条。"
    assert redact(text) == text


def test_names_and_addresses() -> None:
    assert mask_name("欧阳建国") == "欧***" and mask_name("李四") == "李*" and mask_name("王") == "*"
    assert mask_name("John Smith") == "J*** *****"
    out = redact("John Smith met JOHN SMITH at 四川省成都市锦江区春熙路88号.", names=["John Smith"],
                 addresses=["四川省成都市锦江区春熙路88号"])
    assert "Smith" not in out and "SMITH" not in out and "春熙路" not in out
    assert "四川省成都市锦江区****" in out
    assert redact("住春熙路88号", addresses=["春熙路88号"]) == "住****"


def test_public_html_has_no_personal_data() -> None:
    html = public_html()
    for p in PERSONAL:
        assert p not in html, p
    assert "欧***" in html and "王**" in html and "成都市公安局锦江区分局" in html
    assert "锦公(治)行罚决字〔2026〕1234号" in html and "罚款500元" in html


def pdf_text(pdf: bytes) -> tuple[PdfReader, str]:
    r = PdfReader(io.BytesIO(pdf))
    return r, "\n".join(p.extract_text() for p in r.pages)


def test_pdf_opens_with_chinese_title_and_text() -> None:
    pdf = html_to_pdf(public_html(), title="行政处罚决定书（公开版）")
    assert pdf.startswith(b"%PDF-")
    r, text = pdf_text(pdf)
    assert len(r.pages) >= 1
    assert r.metadata is not None and r.metadata.title == "行政处罚决定书（公开版）"
    flat = re.sub(r"\s+", "", text)
    assert "成都市公安局锦江区分局行政处罚决定书" in flat
    assert "当事人" in flat and "违法事实" in flat and "处罚依据" in flat and "行政拘留五日" in flat
    assert "《中华人民共和国治安管理处罚法》第四十三条第一款" in flat


def test_pdf_of_the_public_version_has_no_personal_data() -> None:
    _r, text = pdf_text(html_to_pdf(public_html(), title="行政处罚决定书"))
    flat = re.sub(r"\s+", "", text)
    for p in PERSONAL:
        assert re.sub(r"\s+", "", p) not in flat, p
    assert "欧***" in flat


def test_pdf_of_the_unredacted_version_does_carry_it() -> None:
    # the check above can fail: the internal version's PDF text does contain the seeded data
    _r, text = pdf_text(html_to_pdf(render(DECISION, SEED, allowed=ALLOWED), title="内部版"))
    flat = re.sub(r"\s+", "", text)
    assert "欧阳建国" in flat and "51010419850317281X" in flat and "13512345678" in flat


def test_pdf_subset_lists_tables_and_markup() -> None:
    html = ("<html><head><title>不显示</title><style>p{}</style></head><body>"
            "<h1>标题 &amp; 副题</h1><ol><li>第一</li><li>第二 <strong>加粗</strong></li></ol>"
            "<table><thead><tr><th>项目</th><th>数量</th></tr></thead>"
            "<tbody><tr><td>扣押物品</td><td>3</td></tr><tr><td>冻结账户</td></tr></tbody></table>"
            "<p>未闭合 <strong>粗体</p><div>裸文本<br>换行</div><span>其他标签</span></body></html>")
    _r, text = pdf_text(html_to_pdf(html, title="测试"))
    flat = re.sub(r"\s+", "", text)
    assert "不显示" not in flat and "p{}" not in flat
    for s in ("标题&副题", "1.第一", "2.第二加粗", "项目", "数量", "扣押物品", "冻结账户", "未闭合粗体", "裸文本",
              "换行", "其他标签"):
        assert s in flat, s


def test_empty_html_still_gives_a_pdf_with_its_title() -> None:
    _r, text = pdf_text(html_to_pdf("", title="空白文书"))
    assert "空白文书" in text


def test_a_chart_table_is_drawn_as_a_chart_too() -> None:
    html = ('<h2>跨区域警情月报</h2><table data-chart="bar"><tr><th>月份</th><th>成都</th><th>重庆</th></tr>'
            "<tr><td>10月</td><td>12</td><td>9</td></tr><tr><td>11月</td><td>15</td><td>1,024</td></tr></table>"
            '<table data-chart="line"><tr><th>周</th><th>请求</th></tr><tr><td>W1</td><td>3</td></tr>'
            "<tr><td>W2</td><td>n/a</td></tr></table>")
    plain = html.replace(' data-chart="bar"', "").replace(' data-chart="line"', "")
    with_chart, without = html_to_pdf(html, title="月报"), html_to_pdf(plain, title="月报")
    _r, text = pdf_text(with_chart)
    flat = re.sub(r"\s+", "", text)
    # the chart's axis labels and legend come on top of the table's text
    assert flat.count("10月") > re.sub(r"\s+", "", pdf_text(without)[1]).count("10月")
    assert flat.count("重庆") >= 2 and "1,024" in flat
    assert len(with_chart) > len(without)


def test_long_rows_and_paragraphs_run_over_pages() -> None:
    html = ("<table><tr><th>项目</th><th>说明</th></tr><tr><td>证据</td><td>" + "很长的说明文字" * 700
            + "</td></tr></table><p>" + "长段落" * 3000 + "结尾</p>")
    r, text = pdf_text(html_to_pdf(html, title="长文书"))
    assert len(r.pages) >= 4
    assert "结尾" in re.sub(r"\s+", "", text)
