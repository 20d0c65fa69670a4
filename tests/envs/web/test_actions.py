"""The action parser: BrowserGym's call syntax, read without eval; every bad text is an ActionError."""

from __future__ import annotations

import pytest

from tests.envs.web.conftest import need_web_extra

need_web_extra()

from densegym.envs.base import ActionError  # noqa: E402
from densegym.envs.web.actions import Action, parse  # noqa: E402


@pytest.mark.parametrize("text, expected", [
    ('click("12")', Action("click", ("12",))),
    ("click(12)", Action("click", ("12",))),
    ("  click( 'a7' ) ", Action("click", ("a7",))),
    ('fill("3", "red \\"shoes\\"\\n")', Action("fill", ("3", 'red "shoes"\n'))),
    ("fill('3', 'it\\'s, (ok)')", Action("fill", ("3", "it's, (ok)"))),
    ('select_option("9", "$25")', Action("select_option", ("9", "$25"))),
    ('press("4", "Control+a")', Action("press", ("4", "Control+a"))),
    ("scroll(0, -250.5)", Action("scroll", (0.0, -250.5))),
    ("go_back()", Action("go_back", ())),
    ('goto("/search?q=tea")', Action("goto", ("/search?q=tea",))),
    ('send_msg_to_user("done")', Action("send_msg_to_user", ("done",))),
    ("stop()", Action("stop", ())),
])
def test_parses(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, words", [
    ("", "expected a call"),
    ("click", "expected a call"),
    ('__import__("os")', "unknown action"),
    ('click("1"', "not closed"),
    ('fill("1", "abc)', "quote is missing"),
    ('click("1", "2")', "takes 1 argument"),
    ("scroll('a', 1)", "takes numbers"),
    ("scroll(1e9, 0)", "too far"),
    ('click("1") click("2")', "one action"),
    ('press("1", "Enter; rm -rf")', "is not a key"),
    ('click("a b")', "is not a bid"),
    ("click([1])", "unexpected"),
    ("fill('1', '" + "x" * 5000 + "')", "at most 4,096"),
])
def test_refuses(text, words):
    with pytest.raises(ActionError, match=words.replace("(", r"\(").replace("$", r"\$")):
        parse(text)
