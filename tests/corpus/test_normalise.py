import pytest

from darien_nlp.corpus import normalise


def test_markdown_links_emphasis_escapes_and_wrapping():
    raw = "The **Darién** [route](https://x.org/a_(b)) is\nhard-wrapped \\- and *escaped*.\n\nNext &amp; last."
    assert normalise(raw, markup="markdown") == "The Darién route is hard-wrapped - and escaped.\n\nNext & last."


def test_markdown_list_items_become_blocks():
    raw = "We agreed to:\n\n-   open new\n    pathways;\n-   fight smuggling."
    assert normalise(raw, markup="markdown").split("\n\n") == ["We agreed to:", "- open new pathways;", "- fight smuggling."]


def test_html_drops_scripts_styles_nav_and_banner():
    raw = ("<nav>Home | About</nav><p>An official website of the United States government</p>"
           "<script>var x = 'secret';</script><style>p{}</style><p>Real&nbsp;text.</p><ul><li>one</li></ul>")
    assert normalise(raw, markup="html") == "Real text.\n\n- one"


def test_html_of_only_scripts_is_empty():
    assert normalise("<script>alert(1)</script><style>.a{}</style>", markup="html") == ""


def test_plain_text_keeps_heading_and_date_apart_but_joins_wrapped_lines():
    raw = ("A title that is long enough to look like a wrapped line of text here\nFebruary 16, 2023\n\n"
           "This paragraph was wrapped at a fixed width by the tool that\nexported it.")
    assert normalise(raw).split("\n\n") == [
        "A title that is long enough to look like a wrapped line of text here",
        "February 16, 2023",
        "This paragraph was wrapped at a fixed width by the tool that exported it.",
    ]


def test_unicode_is_nfc():
    assert normalise("Dari\u0065\u0301n") == "Dari\u00e9n"


@pytest.mark.parametrize("bad", [None, b"bytes", 3])
def test_non_string_input_is_a_type_error(bad):
    with pytest.raises(TypeError, match="needs a str"):
        normalise(bad)


def test_unknown_markup_names_the_parameter():
    with pytest.raises(ValueError, match="The 'markup' parameter of normalise must be one of"):
        normalise("x", markup="rst")


def test_html_blocks_lists_tables_pre_and_comments():
    html = ("<p>One   two</p><!-- a comment --><ul><li>first</li><li>second</li></ul>"
            "<table><tr><td>a</td><td>b</td></tr></table><pre>keep   spaces</pre>line<br>break"
            "<div role='navigation'>menu</div><p>After <b>bold</b> text.</p>")
    assert normalise(html, markup="html").split("\n\n") == [
        "One two", "- first", "- second", "a | b |", "keep spaces", "line", "break", "After bold text."]


def test_a_page_of_many_paragraphs_and_deep_nesting_load_whole():
    # 20,000 sibling paragraphs (each used to cost a scan of its siblings: a 2 MB page took 91 s) and
    # 5,000 nested divs (no recursion): every paragraph comes out once, in order
    many = "<html><body>" + "".join(f"<p>Paragraph {i}.</p>" for i in range(20_000)) + "</body></html>"
    blocks = normalise(many, markup="html").split("\n\n")
    assert blocks == [f"Paragraph {i}." for i in range(20_000)]
    deep = "<div>" * 5_000 + "deep text" + "</div>" * 5_000
    assert normalise(deep, markup="html") == "deep text"
