"""Financial reports: trial balance, income statement and balance sheet."""

import datetime
from decimal import Decimal

from .accounts import AccountType
from .money import format_amount

ZERO = Decimal("0.00")


def month_bounds(year, month):
    """First and last day of ``month`` in ``year``."""
    if not 1 <= month <= 12:
        raise ValueError("month must be in 1..12")
    first = datetime.date(year, month, 1)
    if month == 12:
        following = datetime.date(year + 1, 1, 1)
    else:
        following = datetime.date(year, month + 1, 1)
    return first, following - datetime.timedelta(days=1)


def quarter_bounds(year, quarter):
    """First and last day of ``quarter`` (1-4) in ``year``."""
    if not 1 <= quarter <= 4:
        raise ValueError("quarter must be in 1..4")
    first_month = (quarter - 1) * 3 + 1
    start, _ = month_bounds(year, first_month)
    _, end = month_bounds(year, first_month + 2)
    return start, end


def year_bounds(year, first_month=1):
    """First and last day of a fiscal year starting in ``first_month``.

    A fiscal year named ``year`` ends in calendar ``year``; for
    ``first_month=4`` it runs from April of ``year - 1`` to March of ``year``.
    """
    if first_month == 1:
        return datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    start = datetime.date(year - 1, first_month, 1)
    _, end = month_bounds(year, first_month - 1)
    return start, end


def account_balance(journal, chart, code, start=None, end=None, include_children=True):
    """Balance of ``code`` in its normal direction, optionally rolling up children."""
    account = chart.get(code)
    codes = [code]
    if include_children:
        codes.extend(chart.descendants(code))
    debits = ZERO
    credits = ZERO
    for each in codes:
        d, c = journal.totals(each, start, end)
        debits += d
        credits += c
    return account.signed_balance(debits, credits)


def trial_balance(journal, chart, as_of=None, include_zero=False):
    """Rows ``(code, name, debit, credit)`` for every account as of ``as_of``.

    Each account's net balance appears in the debit column when positive and
    the credit column when negative.  Zero balances are skipped unless
    ``include_zero`` is true.
    """
    balances = journal.balances(end=as_of)
    rows = []
    for code in chart.codes():
        net = balances.get(code, ZERO)
        if net == 0 and not include_zero:
            continue
        debit = net if net > 0 else ZERO
        credit = -net if net < 0 else ZERO
        rows.append((code, chart.get(code).name, debit, credit))
    return rows


def trial_balance_totals(rows):
    """``(total debits, total credits)`` of trial balance rows."""
    debit = sum((row[2] for row in rows), ZERO)
    credit = sum((row[3] for row in rows), ZERO)
    return debit, credit


def _sum_type(journal, chart, account_type, start, end):
    section = []
    total = ZERO
    for account in chart.by_type(account_type):
        debits, credits = journal.totals(account.code, start, end)
        amount = account.signed_balance(debits, credits)
        if amount != 0:
            section.append((account.code, account.name, amount))
            total += amount
    return section, total


def income_statement(journal, chart, start=None, end=None):
    """Income, expenses and net income for the period ``start..end``."""
    income, total_income = _sum_type(journal, chart, AccountType.INCOME, start, end)
    expenses, total_expenses = _sum_type(journal, chart, AccountType.EXPENSE, start, end)
    return {
        "income": income,
        "expenses": expenses,
        "total_income": total_income,
        "total_expenses": total_expenses,
        "net_income": total_income - total_expenses,
    }


def balance_sheet(journal, chart, as_of=None):
    """Assets, liabilities and equity as of ``as_of``.

    Net income to date is added to equity as ``retained_earnings`` so that
    assets equal liabilities plus equity.
    """
    assets, total_assets = _sum_type(journal, chart, AccountType.ASSET, None, as_of)
    liabilities, total_liabilities = _sum_type(journal, chart, AccountType.LIABILITY, None, as_of)
    equity, total_equity = _sum_type(journal, chart, AccountType.EQUITY, None, as_of)
    retained = income_statement(journal, chart, None, as_of)["net_income"]
    return {
        "assets": assets,
        "liabilities": liabilities,
        "equity": equity,
        "total_assets": total_assets,
        "total_liabilities": total_liabilities,
        "retained_earnings": retained,
        "total_equity": total_equity + retained,
        "balanced": total_assets == total_liabilities + total_equity + retained,
    }


def format_trial_balance(rows, currency="USD", name_width=20, amount_width=12):
    """Render trial balance rows as a fixed-width text table with a total line."""
    def cell(value):
        return (format_amount(value, currency, symbol=False) if value else "").rjust(amount_width)

    lines = []
    for code, name, debit, credit in rows:
        label = name if len(name) <= name_width else name[:name_width - 1] + "~"
        lines.append(f"{code} {label.ljust(name_width)} {cell(debit)} {cell(credit)}")
    debit, credit = trial_balance_totals(rows)
    lines.append("-" * (5 + name_width + 2 * (amount_width + 1)))
    lines.append(f"{'':4} {'Total'.ljust(name_width)} {cell(debit)} {cell(credit)}")
    return "\n".join(lines)
