import datetime
from decimal import Decimal

import pytest

from ledger.accounts import ChartOfAccounts
from ledger.journal import Journal, Transaction
from ledger.reports import (account_balance, balance_sheet, format_trial_balance,
                            income_statement, month_bounds, quarter_bounds, trial_balance,
                            trial_balance_totals, year_bounds)

D = datetime.date


def build():
    chart = ChartOfAccounts()
    chart.create("1000", "Cash")
    chart.create("1010", "Till", parent="1000")
    chart.create("1200", "Receivables")
    chart.create("2000", "Loan")
    chart.create("3000", "Capital")
    chart.create("4000", "Sales")
    chart.create("5000", "Rent")
    chart.create("5100", "Supplies")
    j = Journal(chart)
    j.post(Transaction(D(2024, 1, 1), "Invest").add_debit("1000", 1000).add_credit("3000", 1000))
    j.post(Transaction(D(2024, 1, 10), "Borrow").add_debit("1000", 500).add_credit("2000", 500))
    j.post(Transaction(D(2024, 2, 3), "Sale").add_debit("1010", 300).add_debit("1200", 200).add_credit("4000", 500))
    j.post(Transaction(D(2024, 2, 28), "Rent").add_debit("5000", 400).add_credit("1000", 400))
    j.post(Transaction(D(2024, 4, 2), "Supplies").add_debit("5100", 50).add_credit("1010", 50))
    return chart, j


def test_month_bounds():
    assert month_bounds(2024, 2) == (D(2024, 2, 1), D(2024, 2, 29))
    assert month_bounds(2023, 2)[1] == D(2023, 2, 28)
    assert month_bounds(2024, 12) == (D(2024, 12, 1), D(2024, 12, 31))
    with pytest.raises(ValueError):
        month_bounds(2024, 13)
    with pytest.raises(ValueError):
        month_bounds(2024, 0)


def test_quarter_bounds():
    assert quarter_bounds(2024, 1) == (D(2024, 1, 1), D(2024, 3, 31))
    assert quarter_bounds(2024, 4) == (D(2024, 10, 1), D(2024, 12, 31))
    assert quarter_bounds(2024, 2)[1] == D(2024, 6, 30)
    with pytest.raises(ValueError):
        quarter_bounds(2024, 5)


def test_year_bounds():
    assert year_bounds(2024) == (D(2024, 1, 1), D(2024, 12, 31))
    assert year_bounds(2024, first_month=4) == (D(2023, 4, 1), D(2024, 3, 31))
    assert year_bounds(2024, first_month=3) == (D(2023, 3, 1), D(2024, 2, 29))


def test_account_balance_rolls_up_children():
    chart, j = build()
    assert str(account_balance(j, chart, "1000")) == "1350.00"
    assert str(account_balance(j, chart, "1000", include_children=False)) == "1100.00"
    assert str(account_balance(j, chart, "1010")) == "250.00"


def test_account_balance_normal_direction_and_period():
    chart, j = build()
    assert str(account_balance(j, chart, "4000")) == "500.00"
    assert str(account_balance(j, chart, "2000")) == "500.00"
    assert str(account_balance(j, chart, "1000", end=D(2024, 1, 31))) == "1500.00"
    assert str(account_balance(j, chart, "5000", start=D(2024, 3, 1))) == "0.00"


def test_trial_balance_rows():
    chart, j = build()
    rows = trial_balance(j, chart)
    assert [r[0] for r in rows] == ["1000", "1010", "1200", "2000", "3000", "4000", "5000", "5100"]
    assert [str(x) for x in rows[0][2:]] == ["1100.00", "0.00"]
    assert [str(x) for x in rows[3][2:]] == ["0.00", "500.00"]


def test_trial_balance_as_of_and_zero():
    chart, j = build()
    rows = trial_balance(j, chart, as_of=D(2024, 1, 31))
    assert [r[0] for r in rows] == ["1000", "2000", "3000"]
    zero_rows = trial_balance(j, chart, as_of=D(2024, 1, 31), include_zero=True)
    assert len(zero_rows) == 8
    assert [str(x) for x in zero_rows[1][2:]] == ["0.00", "0.00"]


def test_trial_balance_small_amounts():
    chart, j = build()
    j.post(Transaction(D(2024, 5, 1), "Fee").add_debit("5000", "0.40").add_credit("1200", "0.40"))
    rows = {row[0]: row for row in trial_balance(j, chart)}
    assert str(rows["5000"][2]) == "400.40"
    assert str(rows["1200"][2]) == "199.60"
    small = trial_balance(j, chart, as_of=D(2024, 1, 31))
    assert len(small) == 3


def test_trial_balance_below_one():
    chart, j = build()
    j.transactions.clear()
    j.post(Transaction(D(2024, 5, 1), "Fee").add_debit("5000", "0.40").add_credit("1000", "0.40"))
    rows = trial_balance(j, chart)
    assert [(r[0], str(r[2]), str(r[3])) for r in rows] == [("1000", "0.00", "0.40"), ("5000", "0.40", "0.00")]


def test_trial_balance_totals_of_given_rows():
    rows = [("1000", "Cash", Decimal("5.00"), Decimal("0.00")), ("4000", "Sales", Decimal("0.00"), Decimal("3.25"))]
    debit, credit = trial_balance_totals(rows)
    assert str(debit) == "5.00"
    assert str(credit) == "3.25"
    assert str(trial_balance_totals([])[0]) == "0.00"


def test_trial_balance_totals_balance():
    chart, j = build()
    debit, credit = trial_balance_totals(trial_balance(j, chart))
    assert str(debit) == "2000.00"
    assert str(credit) == "2000.00"


def test_income_statement_full():
    chart, j = build()
    report = income_statement(j, chart)
    assert str(report["total_income"]) == "500.00"
    assert str(report["total_expenses"]) == "450.00"
    assert str(report["net_income"]) == "50.00"
    assert [row[0] for row in report["expenses"]] == ["5000", "5100"]


def test_income_statement_period():
    chart, j = build()
    assert [row[0] for row in income_statement(j, chart, *quarter_bounds(2024, 1))["expenses"]] == ["5000"]
    report = income_statement(j, chart, *quarter_bounds(2024, 1))
    assert str(report["net_income"]) == "100.00"
    assert [row[1] for row in report["income"]] == ["Sales"]
    assert str(income_statement(j, chart, *month_bounds(2024, 4))["net_income"]) == "-50.00"


def test_balance_sheet():
    chart, j = build()
    sheet = balance_sheet(j, chart)
    assert str(sheet["total_assets"]) == "1550.00"
    assert str(sheet["total_liabilities"]) == "500.00"
    assert [(row[1], str(row[2])) for row in sheet["liabilities"]] == [("Loan", "500.00")]
    assert [(row[1], str(row[2])) for row in sheet["equity"]] == [("Capital", "1000.00")]
    assert str(sheet["retained_earnings"]) == "50.00"
    assert str(sheet["total_equity"]) == "1050.00"
    assert sheet["balanced"] is True


def test_balance_sheet_as_of():
    chart, j = build()
    sheet = balance_sheet(j, chart, as_of=D(2024, 2, 29))
    assert str(sheet["total_assets"]) == "1600.00"
    assert str(sheet["retained_earnings"]) == "100.00"
    assert [row[0] for row in sheet["assets"]] == ["1000", "1010", "1200"]
    assert sheet["balanced"] is True


def test_format_trial_balance():
    rows = [("1000", "Cash", 1500, 0), ("3000", "Owner capital contributions", 0, 1500)]
    text = format_trial_balance(rows, name_width=10, amount_width=9)
    assert text.splitlines() == [
        "1000 Cash        1,500.00          ",
        "3000 Owner cap~            1,500.00",
        "-" * 35,
        "     Total       1,500.00  1,500.00",
    ]
