import datetime

import pytest

from ledger.journal import Posting, Transaction
from ledger.parse import (ParseError, format_journal, format_transaction, parse_date,
                          parse_header, parse_journal, parse_posting_line, strip_comment)

SAMPLE = """\
; opening entries
2024-01-05 [JE0001] Owner investment
    1000  2500.00   ; cash in
    3000

2024-01-07 Rent for January
    5000    800
    1000   -800
"""


def test_strip_comment():
    assert strip_comment("  1000 5 ; note") == "  1000 5"
    assert strip_comment("no comment   ") == "no comment"
    assert strip_comment("a # b", marker="#") == "a"


def test_parse_date_ok():
    assert parse_date("2024-02-29") == datetime.date(2024, 2, 29)


@pytest.mark.parametrize("text", ["2023-02-29", "24-01-01", "2024/01/01", "2024-1", "abcd-01-01"])
def test_parse_date_bad(text):
    with pytest.raises(ParseError):
        parse_date(text, line=3)


def test_parse_error_line_number():
    with pytest.raises(ParseError) as info:
        parse_date("x", line=7)
    assert info.value.line == 7
    assert str(info.value) == "line 7: bad date 'x'"


def test_parse_header_with_reference():
    assert parse_header("2024-01-05 [ JE9 ] Paid rent") == (datetime.date(2024, 1, 5), "JE9", "Paid rent")


def test_parse_header_without_reference():
    assert parse_header("2024-01-05   Paid rent ") == (datetime.date(2024, 1, 5), None, "Paid rent")
    assert parse_header("2024-01-05 [] Paid")[1] is None


def test_parse_header_errors():
    with pytest.raises(ParseError):
        parse_header("2024-01-05 [JE9 Paid")
    with pytest.raises(ParseError):
        parse_header("2024-01-05 [JE9]")


def test_parse_posting_line():
    account, amount, memo = parse_posting_line("  1000  1,250.5 ; deposit")
    assert (account, str(amount), memo) == ("1000", "1250.50", "deposit")
    assert parse_posting_line("   3000") == ("3000", None, "")


def test_parse_posting_line_errors():
    with pytest.raises(ParseError):
        parse_posting_line("   ")
    with pytest.raises(ParseError):
        parse_posting_line("  1000 5 6")
    with pytest.raises(ParseError):
        parse_posting_line("  1000 five")
    with pytest.raises(ParseError):
        parse_posting_line("  1000 0.001")


def test_parse_journal_sample():
    txns = parse_journal(SAMPLE)
    assert len(txns) == 2
    first, second = txns
    assert first.reference == "JE0001"
    assert str(first.amount_for("3000")) == "-2500.00"
    assert first.postings[0].memo == "cash in"
    assert second.reference is None
    assert second.description == "Rent for January"
    assert str(second.total_debits) == "800.00"


def test_parse_journal_empty():
    assert parse_journal("; nothing\n\n") == []


def test_parse_journal_errors_report_lines():
    with pytest.raises(ParseError) as info:
        parse_journal("    1000 5\n")
    assert info.value.line == 1
    with pytest.raises(ParseError) as info:
        parse_journal("2024-01-01 A\n  1000 5\n  4000 -4\n")
    assert info.value.line == 1
    with pytest.raises(ParseError) as info:
        parse_journal("2024-01-01 A\n  1000 5\n  4000 -5\n2024-01-02 B\n  1000\n  4000\n")
    assert info.value.line == 4


def test_parse_journal_needs_two_postings():
    with pytest.raises(ParseError):
        parse_journal("2024-01-01 A\n  1000 5\n")


def test_parse_journal_nothing_to_balance():
    with pytest.raises(ParseError):
        parse_journal("2024-01-01 A\n  1000 5\n  4000 -5\n  2000\n")


def test_format_transaction():
    t = Transaction(datetime.date(2024, 3, 1), "Sale", reference="S1")
    t.postings.append(Posting("1000", debit="12.5", memo="till"))
    t.postings.append(Posting("4000", credit="12.5"))
    assert format_transaction(t) == (
        "2024-03-01 [S1] Sale\n"
        "    1000       12.50  ; till\n"
        "    4000      -12.50")
    assert format_transaction(t, indent=1, width=6).splitlines()[2] == " 4000  -12.50"


def test_round_trip():
    txns = parse_journal(SAMPLE)
    text = format_journal(txns)
    again = parse_journal(text)
    assert format_journal(again) == text
    assert text.count("\n\n") == 1
    assert text.endswith("-800.00\n")


def test_parse_date_default_line():
    with pytest.raises(ParseError) as info:
        parse_date("2024-13-01")
    assert str(info.value) == "line 0: bad date '2024-13-01'"


def test_error_messages_name_the_line():
    with pytest.raises(ParseError) as info:
        parse_header("2024-01-05", line=4)
    assert str(info.value) == "line 4: missing description"
    with pytest.raises(ParseError) as info:
        parse_posting_line("  1000 x1", line=6)
    assert str(info.value) == "line 6: bad amount 'x1'"
    with pytest.raises(ParseError) as info:
        parse_journal("\n2024-01-01 A\n  1000 5\n")
    assert str(info.value) == "line 2: transaction needs at least two postings"
