"""Chart of accounts: account types, normal balances and the account tree."""

from enum import Enum


class AccountType(Enum):
    """The five fundamental account types."""

    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"

    @property
    def normal_balance(self):
        """``"debit"`` for assets and expenses, ``"credit"`` otherwise."""
        if self in (AccountType.ASSET, AccountType.EXPENSE):
            return "debit"
        return "credit"

    @property
    def is_balance_sheet(self):
        """True for accounts that appear on the balance sheet."""
        return self in (AccountType.ASSET, AccountType.LIABILITY, AccountType.EQUITY)


class AccountError(Exception):
    """Raised for invalid or unknown accounts."""


def validate_code(code, digits=4):
    """Return ``code`` if it is exactly ``digits`` decimal digits, else raise."""
    if not isinstance(code, str) or len(code) != digits or not code.isdigit():
        raise AccountError(f"invalid account code: {code!r}")
    if code[0] == "0":
        raise AccountError(f"account code may not start with 0: {code!r}")
    return code


def type_for_code(code):
    """Infer the account type from the leading digit of a four-digit code.

    1xxx assets, 2xxx liabilities, 3xxx equity, 4xxx income, 5xxx-9xxx expenses.
    """
    lead = int(validate_code(code)[0])
    if lead == 1:
        return AccountType.ASSET
    if lead == 2:
        return AccountType.LIABILITY
    if lead == 3:
        return AccountType.EQUITY
    if lead == 4:
        return AccountType.INCOME
    return AccountType.EXPENSE


class Account:
    """One account in the chart, optionally nested under a parent account."""

    def __init__(self, code, name, type=None, parent=None):
        self.code = validate_code(code)
        self.name = name.strip()
        if not self.name:
            raise AccountError("account name must not be empty")
        self.type = type if type is not None else type_for_code(code)
        self.parent = parent

    @property
    def is_debit_normal(self):
        """True when increases to this account are debits."""
        return self.type.normal_balance == "debit"

    def signed_balance(self, debits, credits):
        """Balance expressed in the account's normal direction.

        A debit-normal account returns ``debits - credits``; a credit-normal
        account returns ``credits - debits``.
        """
        if self.is_debit_normal:
            return debits - credits
        return credits - debits

    def __repr__(self):
        return f"Account({self.code!r}, {self.name!r}, {self.type.value})"


class ChartOfAccounts:
    """A collection of accounts indexed by code."""

    def __init__(self, accounts=()):
        self._accounts = {}
        for account in accounts:
            self.add(account)

    def add(self, account):
        """Add ``account``; its parent, if any, must already be present and of the same type."""
        if account.code in self._accounts:
            raise AccountError(f"duplicate account code: {account.code}")
        if account.parent is not None:
            parent = self.get(account.parent)
            if parent.type is not account.type:
                raise AccountError("child account must have its parent's type")
        self._accounts[account.code] = account
        return account

    def create(self, code, name, type=None, parent=None):
        """Build an :class:`Account` and add it."""
        return self.add(Account(code, name, type, parent))

    def get(self, code):
        """Return the account with ``code`` or raise :class:`AccountError`."""
        try:
            return self._accounts[code]
        except KeyError:
            raise AccountError(f"unknown account: {code}") from None

    def __contains__(self, code):
        return code in self._accounts

    def __len__(self):
        return len(self._accounts)

    def codes(self):
        """All account codes in ascending order."""
        return sorted(self._accounts)

    def find_by_name(self, name):
        """Return the first account (by code) whose name matches, case-insensitively."""
        wanted = name.strip().lower()
        for code in self.codes():
            if self._accounts[code].name.lower() == wanted:
                return self._accounts[code]
        return None

    def by_type(self, account_type):
        """Accounts of ``account_type``, sorted by code."""
        return [self._accounts[c] for c in self.codes() if self._accounts[c].type is account_type]

    def children(self, code):
        """Direct children of ``code``, sorted by code."""
        return [self._accounts[c] for c in self.codes() if self._accounts[c].parent == code]

    def ancestors(self, code):
        """Codes of the parents of ``code``, nearest first."""
        result = []
        current = self.get(code).parent
        while current is not None:
            if len(result) >= len(self._accounts):
                raise AccountError(f"cycle in the parents of {code}")
            result.append(current)
            current = self.get(current).parent
        return result

    def depth(self, code):
        """0 for a top-level account, 1 for its children, and so on."""
        return len(self.ancestors(code))

    def full_name(self, code, sep=":"):
        """Names from the root to ``code`` joined by ``sep``, e.g. ``Assets:Cash``."""
        chain = list(reversed(self.ancestors(code))) + [code]
        return sep.join(self.get(c).name for c in chain)

    def descendants(self, code):
        """Codes of all accounts below ``code`` (depth first, by code)."""
        result = []
        for child in self.children(code):
            result.append(child.code)
            result.extend(self.descendants(child.code))
        return result
