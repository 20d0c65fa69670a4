"""Transactions, postings and the journal that holds them."""

from decimal import Decimal

from .money import round_amount, to_decimal


class UnbalancedError(ValueError):
    """Raised when a transaction's debits and credits differ."""


class Posting:
    """A single line of a transaction: a debit or a credit to one account."""

    def __init__(self, account, debit=0, credit=0, memo=""):
        self.account = account
        self.debit = round_amount(debit)
        self.credit = round_amount(credit)
        self.memo = memo
        if self.debit < 0 or self.credit < 0:
            raise ValueError("debit and credit must not be negative")
        if self.debit and self.credit:
            raise ValueError("a posting is either a debit or a credit")
        if not self.debit and not self.credit:
            raise ValueError("a posting needs a non-zero amount")

    @classmethod
    def from_signed(cls, account, amount, memo=""):
        """Positive ``amount`` is a debit, negative a credit."""
        value = to_decimal(amount)
        if value >= 0:
            return cls(account, debit=value, memo=memo)
        return cls(account, credit=-value, memo=memo)

    @property
    def amount(self):
        """Signed amount: debits positive, credits negative."""
        return self.debit - self.credit

    @property
    def is_debit(self):
        return self.debit > 0

    def __repr__(self):
        side = "Dr" if self.is_debit else "Cr"
        return f"Posting({self.account!r}, {side} {abs(self.amount)})"


class Transaction:
    """A dated, described set of postings whose debits equal its credits."""

    def __init__(self, date, description, postings=None, reference=None):
        self.date = date
        self.description = description
        self.postings = list(postings) if postings else []
        self.reference = reference

    def add_debit(self, account, amount, memo=""):
        """Append a debit posting and return ``self`` for chaining."""
        self.postings.append(Posting(account, debit=amount, memo=memo))
        return self

    def add_credit(self, account, amount, memo=""):
        """Append a credit posting and return ``self`` for chaining."""
        self.postings.append(Posting(account, credit=amount, memo=memo))
        return self

    @property
    def total_debits(self):
        return sum((p.debit for p in self.postings), Decimal("0.00"))

    @property
    def total_credits(self):
        return sum((p.credit for p in self.postings), Decimal("0.00"))

    @property
    def imbalance(self):
        """Debits minus credits; zero for a balanced transaction."""
        return self.total_debits - self.total_credits

    def is_balanced(self):
        return self.imbalance == 0

    def accounts(self):
        """Distinct account codes in order of first appearance."""
        seen = []
        for posting in self.postings:
            if posting.account not in seen:
                seen.append(posting.account)
        return seen

    def amount_for(self, account):
        """Net signed amount this transaction posts to ``account``."""
        return sum((p.amount for p in self.postings if p.account == account), Decimal("0.00"))

    def validate(self, chart=None):
        """Check the transaction; raise ``ValueError``/``UnbalancedError`` on problems.

        A transaction needs at least two postings, a description, balanced
        totals and, when ``chart`` is given, only known accounts.
        """
        if not self.description or not self.description.strip():
            raise ValueError("transaction needs a description")
        if len(self.postings) < 2:
            raise ValueError("transaction needs at least two postings")
        if not self.is_balanced():
            raise UnbalancedError(f"debits and credits differ by {self.imbalance}")
        if chart is not None:
            for code in self.accounts():
                if code not in chart:
                    raise ValueError(f"unknown account: {code}")
        return True

    def reversed(self, date=None, description=None):
        """A new transaction that undoes this one (debits and credits swapped)."""
        postings = [Posting(p.account, debit=p.credit, credit=p.debit, memo=p.memo)
                    for p in self.postings]
        text = description if description is not None else "Reversal of " + self.description
        return Transaction(date or self.date, text, postings)

    def __repr__(self):
        return f"Transaction({self.date.isoformat()}, {self.description!r}, {len(self.postings)} postings)"


class Journal:
    """An ordered collection of validated transactions."""

    def __init__(self, chart=None, prefix="JE", width=4):
        self.chart = chart
        self.prefix = prefix
        self.width = width
        self.transactions = []

    def next_reference(self):
        """The reference the next posted transaction will receive, e.g. ``JE0003``."""
        return f"{self.prefix}{len(self.transactions) + 1:0{self.width}d}"

    def post(self, transaction):
        """Validate and add ``transaction``, keeping the journal sorted by date.

        Transactions without a reference are given :meth:`next_reference`.
        Transactions on the same date keep their posting order.
        """
        transaction.validate(self.chart)
        if transaction.reference is None:
            transaction.reference = self.next_reference()
        index = len(self.transactions)
        while index > 0 and self.transactions[index - 1].date > transaction.date:
            index -= 1
        self.transactions.insert(index, transaction)
        return transaction

    def __len__(self):
        return len(self.transactions)

    def __iter__(self):
        return iter(self.transactions)

    def between(self, start=None, end=None):
        """Transactions with ``start <= date <= end``; either bound may be None."""
        result = []
        for txn in self.transactions:
            if start is not None and txn.date < start:
                continue
            if end is not None and txn.date > end:
                continue
            result.append(txn)
        return result

    def find(self, reference):
        """The transaction with ``reference``, or None."""
        for txn in self.transactions:
            if txn.reference == reference:
                return txn
        return None

    def entries_for(self, account, start=None, end=None):
        """``(date, reference, signed amount, running balance)`` rows for ``account``."""
        rows = []
        running = Decimal("0.00")
        for txn in self.between(start, end):
            amount = txn.amount_for(account)
            if amount == 0 and account not in txn.accounts():
                continue
            running += amount
            rows.append((txn.date, txn.reference, amount, running))
        return rows

    def balances(self, start=None, end=None):
        """Mapping of account code to signed balance (debits minus credits)."""
        totals = {}
        for txn in self.between(start, end):
            for posting in txn.postings:
                totals[posting.account] = totals.get(posting.account, Decimal("0.00")) + posting.amount
        return totals

    def totals(self, account, start=None, end=None):
        """``(debits, credits)`` posted to ``account`` in the period."""
        debits = Decimal("0.00")
        credits = Decimal("0.00")
        for txn in self.between(start, end):
            for posting in txn.postings:
                if posting.account == account:
                    debits += posting.debit
                    credits += posting.credit
        return debits, credits
