import pytest

from ledger.accounts import (Account, AccountError, AccountType, ChartOfAccounts,
                             type_for_code, validate_code)


def make_chart():
    chart = ChartOfAccounts()
    chart.create("1000", "Assets")
    chart.create("1100", "Cash", parent="1000")
    chart.create("1110", "Petty Cash", parent="1100")
    chart.create("1200", "Receivables", parent="1000")
    chart.create("2000", "Payables")
    chart.create("3000", "Capital")
    chart.create("4000", "Sales")
    chart.create("5000", "Rent")
    return chart


def test_normal_balances():
    assert AccountType.ASSET.normal_balance == "debit"
    assert AccountType.EXPENSE.normal_balance == "debit"
    assert AccountType.LIABILITY.normal_balance == "credit"
    assert AccountType.EQUITY.normal_balance == "credit"
    assert AccountType.INCOME.normal_balance == "credit"


def test_is_balance_sheet():
    assert AccountType.EQUITY.is_balance_sheet
    assert AccountType.LIABILITY.is_balance_sheet
    assert not AccountType.INCOME.is_balance_sheet
    assert not AccountType.EXPENSE.is_balance_sheet


def test_validate_code_ok():
    assert validate_code("1234") == "1234"
    assert validate_code("123", digits=3) == "123"


@pytest.mark.parametrize("code", ["123", "12345", "12a4", "0123", 1234, ""])
def test_validate_code_rejects(code):
    with pytest.raises(AccountError):
        validate_code(code)


@pytest.mark.parametrize("code,expected", [
    ("1000", "asset"), ("2500", "liability"), ("3100", "equity"),
    ("4999", "income"), ("5000", "expense"), ("9100", "expense"),
])
def test_type_for_code(code, expected):
    assert type_for_code(code).value == expected


def test_account_defaults_type_from_code():
    account = Account("4100", "  Service Revenue ")
    assert account.type is AccountType.INCOME
    assert account.name == "Service Revenue"
    assert account.parent is None


def test_account_explicit_type():
    assert Account("5100", "Contra", AccountType.INCOME).type is AccountType.INCOME


def test_account_empty_name():
    with pytest.raises(AccountError):
        Account("1000", "   ")


def test_signed_balance():
    assert Account("1000", "Cash").signed_balance(100, 30) == 70
    assert Account("2000", "Loan").signed_balance(100, 30) == -70
    assert Account("5000", "Rent").is_debit_normal
    assert not Account("4000", "Sales").is_debit_normal


def test_account_repr():
    assert repr(Account("3000", "Capital")) == "Account('3000', 'Capital', equity)"


def test_chart_len_contains_codes():
    chart = make_chart()
    assert len(chart) == 8
    assert "1110" in chart
    assert "9999" not in chart
    assert chart.codes()[:3] == ["1000", "1100", "1110"]


def test_chart_duplicate_and_unknown():
    chart = make_chart()
    with pytest.raises(AccountError):
        chart.create("1000", "Again")
    with pytest.raises(AccountError):
        chart.get("7777")
    with pytest.raises(AccountError):
        chart.create("1300", "Orphan", parent="1900")


def test_chart_parent_type_must_match():
    chart = make_chart()
    with pytest.raises(AccountError):
        chart.create("1300", "Odd", AccountType.EXPENSE, parent="1000")


def test_find_by_name():
    chart = make_chart()
    assert chart.find_by_name("petty cash").code == "1110"
    assert chart.find_by_name(" RENT ").code == "5000"
    assert chart.find_by_name("Nope") is None


def test_by_type():
    chart = make_chart()
    assert [a.code for a in chart.by_type(AccountType.ASSET)] == ["1000", "1100", "1110", "1200"]
    assert [a.code for a in chart.by_type(AccountType.INCOME)] == ["4000"]


def test_children_and_descendants():
    chart = make_chart()
    assert [a.code for a in chart.children("1000")] == ["1100", "1200"]
    assert chart.children("1110") == []
    assert chart.descendants("1000") == ["1100", "1110", "1200"]


def test_ancestors_depth_full_name():
    chart = make_chart()
    assert chart.ancestors("1110") == ["1100", "1000"]
    assert chart.depth("1110") == 2
    assert chart.depth("1000") == 0
    assert chart.full_name("1110") == "Assets:Cash:Petty Cash"
    assert chart.full_name("1200", sep=" / ") == "Assets / Receivables"


def test_ancestors_detects_cycles():
    chart = make_chart()
    chart.get("1000").parent = "1110"
    with pytest.raises(AccountError):
        chart.ancestors("1110")


def test_chart_from_accounts():
    chart = ChartOfAccounts([Account("1000", "Cash"), Account("4000", "Sales")])
    assert chart.codes() == ["1000", "4000"]
    assert chart.get("4000").name == "Sales"
