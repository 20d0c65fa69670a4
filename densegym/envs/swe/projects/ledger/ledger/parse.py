"""A small plain-text format for journal entries.

Example::

    ; comments start with a semicolon
    2024-01-05 [JE0001] Owner investment
        1000  2500.00      ; cash
        3000

A transaction header is a date at the start of a line, an optional
reference in square brackets and a description.  Each indented line below it
is a posting: an account code and a signed amount (positive for a debit,
negative for a credit).  At most one posting per transaction may omit its
amount; it receives whatever balances the transaction.
"""

import datetime

from .journal import Posting, Transaction
from .money import round_amount, to_decimal


class ParseError(ValueError):
    """A syntax error, with the 1-based line number where it occurred."""

    def __init__(self, message, line):
        super().__init__(f"line {line}: {message}")
        self.line = line


def strip_comment(line, marker=";"):
    """Remove a trailing comment and right-hand whitespace from ``line``."""
    index = line.find(marker)
    if index >= 0:
        line = line[:index]
    return line.rstrip()


def parse_date(text, line=0):
    """Parse an ISO ``YYYY-MM-DD`` date, raising :class:`ParseError` on failure."""
    parts = text.split("-")
    if len(parts) != 3 or len(parts[0]) != 4 or not all(p.isdigit() for p in parts):
        raise ParseError(f"bad date {text!r}", line)
    try:
        return datetime.date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise ParseError(f"bad date {text!r}", line) from None


def parse_header(text, line=0):
    """Split a header line into ``(date, reference, description)``."""
    date_text, _, rest = text.partition(" ")
    date = parse_date(date_text, line)
    rest = rest.strip()
    reference = None
    if rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            raise ParseError("unclosed reference", line)
        reference = rest[1:close].strip() or None
        rest = rest[close + 1:].strip()
    if not rest:
        raise ParseError("missing description", line)
    return date, reference, rest


def parse_posting_line(text, line=0):
    """Split a posting line into ``(account, amount or None, memo)``."""
    body, _, memo = text.partition(";")
    fields = body.split()
    if not fields:
        raise ParseError("empty posting", line)
    if len(fields) > 2:
        raise ParseError("too many fields in posting", line)
    account = fields[0]
    amount = None
    if len(fields) == 2:
        try:
            amount = round_amount(to_decimal(fields[1].replace(",", "")))
        except ValueError:
            raise ParseError(f"bad amount {fields[1]!r}", line) from None
        if amount == 0:
            raise ParseError("zero amount", line)
    return account, amount, memo.strip()


def _finish(header, lines, line_no):
    date, reference, description = header
    if len(lines) < 2:
        raise ParseError("transaction needs at least two postings", line_no)
    missing = [i for i, (_, amount, _) in enumerate(lines) if amount is None]
    if len(missing) > 1:
        raise ParseError("only one posting may omit its amount", line_no)
    total = sum(amount for _, amount, _ in lines if amount is not None)
    postings = []
    for account, amount, memo in lines:
        if amount is None:
            amount = -total
            if amount == 0:
                raise ParseError("nothing left to balance", line_no)
        postings.append(Posting.from_signed(account, amount, memo))
    txn = Transaction(date, description, postings, reference)
    if not txn.is_balanced():
        raise ParseError(f"unbalanced by {txn.imbalance}", line_no)
    return txn


def parse_journal(text):
    """Parse ``text`` into a list of :class:`Transaction` objects."""
    transactions = []
    header = None
    header_line = 0
    postings = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = strip_comment(raw)
        if not line.strip():
            continue
        if line[0] in " \t":
            if header is None:
                raise ParseError("posting outside a transaction", number)
            postings.append(parse_posting_line(raw, number))
            continue
        if header is not None:
            transactions.append(_finish(header, postings, header_line))
        header = parse_header(line, number)
        header_line = number
        postings = []
    if header is not None:
        transactions.append(_finish(header, postings, header_line))
    return transactions


def format_transaction(txn, indent=4, width=10):
    """Render ``txn`` in the text format understood by :func:`parse_journal`."""
    head = txn.date.isoformat()
    if txn.reference:
        head += f" [{txn.reference}]"
    lines = [f"{head} {txn.description}"]
    for posting in txn.postings:
        row = " " * indent + posting.account + "  " + f"{posting.amount:.2f}".rjust(width)
        if posting.memo:
            row += "  ; " + posting.memo
        lines.append(row)
    return "\n".join(lines)


def format_journal(transactions, **kwargs):
    """Render several transactions separated by blank lines."""
    return "\n\n".join(format_transaction(t, **kwargs) for t in transactions) + "\n"
