from textkit.markup import escape_html, heading_level, list_item, render, render_inline, strip_markup


def test_escape_html():
    assert escape_html('<a href="x">&</a>') == "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
    assert escape_html('"hi"', quote=False) == '"hi"'


def test_inline_plain_is_escaped():
    assert render_inline("1 < 2 & 3") == "1 &lt; 2 &amp; 3"


def test_inline_code():
    assert render_inline("use `a<b` here") == "use <code>a&lt;b</code> here"
    assert render_inline("`**not bold**`") == "<code>**not bold**</code>"


def test_inline_empty_code_span():
    assert render_inline("a `` b") == "a <code></code> b"


def test_inline_span_helper():
    from textkit.markup import _inline_span
    assert _inline_span("x`y`z", 1) == ("<code>y</code>", 3)
    assert _inline_span("**b** c", 0) == ("<strong>b</strong>", 5)
    assert _inline_span("[a](u) c", 0) == ('<a href="u">a</a>', 6)
    assert _inline_span("plain", 0) == (None, 0)


def test_inline_unclosed_code():
    assert render_inline("a ` b") == "a ` b"


def test_inline_bold_and_italic():
    assert render_inline("**bold** and *it*") == "<strong>bold</strong> and <em>it</em>"
    assert render_inline("**a *b* c**") == "<strong>a <em>b</em> c</strong>"


def test_inline_unclosed_emphasis():
    assert render_inline("2 * 3") == "2 * 3"
    assert render_inline("**open") == "**open"


def test_inline_empty_emphasis_is_literal():
    assert render_inline("** x") == "** x"
    assert render_inline("****") == "****"


def test_inline_link():
    assert render_inline("see [the *docs*](http://x.org/?a=1&b=2)") == (
        'see <a href="http://x.org/?a=1&amp;b=2">the <em>docs</em></a>')


def test_inline_broken_link():
    assert render_inline("[text] (x)") == "[text] (x)"
    assert render_inline("[text](x") == "[text](x"


def test_heading_level():
    assert heading_level("# Title") == 1
    assert heading_level("### Sub") == 3
    assert heading_level("###### Six") == 6
    assert heading_level("####### Seven") == 0
    assert heading_level("#hashtag") == 0
    assert heading_level("plain") == 0
    assert heading_level("##") == 2


def test_list_item():
    assert list_item("- apple") == ("ul", "apple")
    assert list_item("  * pear ") == ("ul", "pear")
    assert list_item("12. twelve") == ("ol", "twelve")
    assert list_item("100. hundred") == ("ol", "hundred")
    assert list_item("1234. too many digits") is None
    assert list_item("1.5 litres") is None
    assert list_item("-not a list") is None


def test_render_heading_and_paragraph():
    assert render("# Hello *world*\n\nFirst line\nsecond line") == (
        "<h1>Hello <em>world</em></h1>\n<p>First line second line</p>")


def test_render_lists():
    doc = "- a\n- b\n1. one\n2. two\n\ntext"
    assert render(doc) == (
        "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n<p>text</p>")


def test_render_paragraph_then_list_then_paragraph():
    assert render("intro\n- x\nafter") == "<p>intro</p>\n<ul>\n<li>x</li>\n</ul>\n<p>after</p>"


def test_render_rule():
    assert render("a\n---\nb") == "<p>a</p>\n<hr>\n<p>b</p>"


def test_render_empty():
    assert render("\n\n") == ""


def test_strip_markup():
    doc = "## **Bold** title\n- see [docs](http://x) and `code`\n1. *one*"
    assert strip_markup(doc) == "Bold title\nsee docs and code\none"


def test_strip_markup_broken_link():
    assert strip_markup("[a](b") == "[a](b"


def test_strip_markup_several_links():
    assert strip_markup("[a](b) [c](d) [e] [f](g") == "a c [e] [f](g"
    assert strip_markup("x [a] [b](c)") == "x [a] b"


def test_inline_link_label_with_parenthesis():
    assert render_inline("[a)](u)") == '<a href="u">a)</a>'
