import datetime
from decimal import Decimal

import pytest

from ledger.accounts import ChartOfAccounts
from ledger.journal import Journal, Posting, Transaction, UnbalancedError

D = datetime.date


def txn(day, desc="Sale", debit="1000", credit="4000", amount="100", ref=None):
    t = Transaction(D(2024, 1, day), desc, reference=ref)
    return t.add_debit(debit, amount).add_credit(credit, amount)


def small_chart():
    chart = ChartOfAccounts()
    for code, name in [("1000", "Cash"), ("2000", "Loan"), ("3000", "Capital"),
                       ("4000", "Sales"), ("5000", "Rent")]:
        chart.create(code, name)
    return chart


def test_posting_debit_rounds():
    p = Posting("1000", debit="10.005")
    assert str(p.debit) == "10.01"
    assert str(p.amount) == "10.01"
    assert p.is_debit


def test_posting_credit_amount_negative():
    p = Posting("4000", credit=5)
    assert str(p.amount) == "-5.00"
    assert not p.is_debit


@pytest.mark.parametrize("kwargs", [{"debit": -1}, {"credit": -1}, {"debit": 1, "credit": 1}, {}])
def test_posting_invalid(kwargs):
    with pytest.raises(ValueError):
        Posting("1000", **kwargs)


def test_posting_from_signed():
    assert str(Posting.from_signed("1000", "12.5").debit) == "12.50"
    assert str(Posting.from_signed("1000", "-12.5").credit) == "12.50"


def test_posting_repr():
    assert repr(Posting("1000", credit=3)) == "Posting('1000', Cr 3.00)"


def test_transaction_totals():
    t = Transaction(D(2024, 1, 1), "Split").add_debit("5000", 30).add_debit("1000", 70).add_credit("3000", 100)
    assert str(t.total_debits) == "100.00"
    assert str(t.total_credits) == "100.00"
    assert t.is_balanced()
    assert t.accounts() == ["5000", "1000", "3000"]
    assert [p.memo for p in t.postings] == ["", "", ""]


def test_transaction_imbalance():
    t = Transaction(D(2024, 1, 1), "Bad").add_debit("1000", 10).add_credit("4000", 9)
    assert str(t.imbalance) == "1.00"
    assert not t.is_balanced()
    with pytest.raises(UnbalancedError):
        t.validate()


def test_transaction_amount_for():
    t = Transaction(D(2024, 1, 1), "x").add_debit("1000", 10).add_debit("1000", 5).add_credit("4000", 15)
    assert str(t.amount_for("1000")) == "15.00"
    assert str(t.amount_for("4000")) == "-15.00"
    assert str(t.amount_for("9999")) == "0.00"


def test_validate_rules():
    assert txn(1).validate() is True
    with pytest.raises(ValueError):
        Transaction(D(2024, 1, 1), "One").add_debit("1000", 1).validate()
    with pytest.raises(ValueError):
        txn(1, desc="  ").validate()
    with pytest.raises(ValueError):
        txn(1, credit="4999").validate(small_chart())
    assert txn(1).validate(small_chart()) is True


def test_reversed():
    r = txn(3, amount="40").reversed()
    assert r.description == "Reversal of Sale"
    assert r.date == D(2024, 1, 3)
    assert str(r.amount_for("1000")) == "-40.00"
    assert str(r.amount_for("4000")) == "40.00"
    assert txn(3).reversed(D(2024, 2, 1), "Undo").description == "Undo"


def test_transaction_repr():
    assert repr(txn(9)) == "Transaction(2024-01-09, 'Sale', 2 postings)"


def test_journal_references():
    j = Journal()
    assert j.next_reference() == "JE0001"
    j.post(txn(1))
    j.post(txn(2, ref="X-9"))
    assert [t.reference for t in j] == ["JE0001", "X-9"]
    assert Journal(prefix="T", width=2).next_reference() == "T01"


def test_journal_post_returns_transaction():
    j = Journal()
    t = txn(4)
    assert j.post(t) is t
    assert t.reference == "JE0001"


def test_journal_sorted_by_date_stable():
    j = Journal()
    j.post(txn(5, desc="a"))
    j.post(txn(2, desc="b"))
    j.post(txn(5, desc="c"))
    j.post(txn(3, desc="d"))
    assert [t.description for t in j] == ["b", "d", "a", "c"]
    assert len(j) == 4


def test_journal_post_validates_against_chart():
    j = Journal(chart=small_chart())
    with pytest.raises(ValueError):
        j.post(txn(1, debit="1500"))
    assert len(j) == 0


def test_journal_between_inclusive():
    j = Journal()
    for day in (1, 5, 10, 15):
        j.post(txn(day))
    assert [t.date.day for t in j.between(D(2024, 1, 5), D(2024, 1, 10))] == [5, 10]
    assert [t.date.day for t in j.between(start=D(2024, 1, 6))] == [10, 15]
    assert [t.date.day for t in j.between(end=D(2024, 1, 5))] == [1, 5]


def test_journal_find():
    j = Journal()
    j.post(txn(1))
    j.post(txn(2))
    assert j.find("JE0002").date.day == 2
    assert j.find("JE0009") is None


def test_journal_balances():
    j = Journal()
    j.post(txn(1, amount="100"))
    j.post(txn(2, debit="5000", credit="1000", amount="30"))
    balances = j.balances()
    assert str(balances["1000"]) == "70.00"
    assert str(balances["4000"]) == "-100.00"
    assert str(balances["5000"]) == "30.00"
    assert str(j.balances(end=D(2024, 1, 1))["1000"]) == "100.00"
    assert "5000" not in j.balances(end=D(2024, 1, 1))


def test_journal_totals():
    j = Journal()
    j.post(txn(1, amount="100"))
    j.post(txn(2, debit="5000", credit="1000", amount="30"))
    debits, credits = j.totals("1000")
    assert (str(debits), str(credits)) == ("100.00", "30.00")
    debits, credits = j.totals("1000", start=D(2024, 1, 2))
    assert (str(debits), str(credits)) == ("0.00", "30.00")


def test_journal_entries_for_running_balance():
    j = Journal()
    j.post(txn(1, amount="100"))
    j.post(txn(2, debit="5000", credit="1000", amount="30"))
    j.post(txn(3, debit="5000", credit="2000", amount="5"))
    rows = j.entries_for("1000")
    assert [(r[1], str(r[2]), str(r[3])) for r in rows] == [
        ("JE0001", "100.00", "100.00"), ("JE0002", "-30.00", "70.00")]
    assert len(j.entries_for("5000", start=D(2024, 1, 3))) == 1
