"""Replay LOBSTER order flow through our OrderBook with the procedure of tests/data/lobster/README.md.

Used by the book's conformance test (tests/unit/book/test_lobster_replay.py) and by
`python -m bench.matching`; it lives in a package (not under tests/) so the benchmark does not
import test code. The sample files stay with the test data, in tests/data/lobster.

Seed from the first book row, add orders when first seen, replay visible executions as
opposite-side immediate-or-cancel orders, compare after every row only the levels the previous
row determined, then sync the deeper levels from the row. Every book call is recorded
(`operations`), so the benchmark can re-run the same day through a fresh book without the
comparison.
"""

from __future__ import annotations

import lzma
from dataclasses import dataclass, field
from pathlib import Path

from domain.book import NewOrder, OrderBook, Side, TimeInForce

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "lobster"
AMZN = ("AMZN_2012-06-21_34200000_57600000_message_1.csv.xz", "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv.xz", 1)
AAPL = (
    "AAPL_2012-06-21_34200000_57600000_message_10_first999.csv.xz",
    "AAPL_2012-06-21_34200000_57600000_orderbook_10_first999.csv.xz",
    10,
)
RESTING, TAKER = "lobster", "aggressor"


def read_book_rows(name: str) -> list[list[int]]:
    """Rows of a compressed LOBSTER orderbook csv."""
    with lzma.open(DATA / name, "rt") as lines:
        return [[int(cell) for cell in line.split(",")] for line in lines]


def read_messages(name: str) -> list[list[int]]:
    """Rows of a compressed LOBSTER message csv without the time column (we never read time)."""
    with lzma.open(DATA / name, "rt") as lines:
        return [[int(cell) for cell in line.split(",")[1:]] for line in lines]


def side_levels(row: list[int], levels: int, side: Side) -> list[tuple[int, int]]:
    """The shown (price, size) levels of one side of an orderbook row, best first."""
    offset = 2 if side is Side.BUY else 0
    shown = []
    for level in range(levels):
        price, size = row[4 * level + offset], row[4 * level + offset + 1]
        if size > 0:
            shown.append((price, size))
    return shown


def better_or_equal(side: Side, price: int, edge: int) -> bool:
    """True if `price` is at or better than `edge` on this side."""
    return price >= edge if side is Side.BUY else price <= edge


@dataclass
class ReplayReport:
    rows: int = 0
    determined_mismatches: list[int] = field(default_factory=list)
    full_matches: int = 0

    @property
    def full_match_rate(self) -> float:
        return self.full_matches / self.rows if self.rows else 0.0


class LobsterReplay:
    """Drives one book through a LOBSTER day and records every book operation."""

    def __init__(self, levels: int) -> None:
        self.levels = levels
        self.book = OrderBook(tick_size=1)
        self.operations: list[tuple] = []
        self.anonymous: set[str] = set()
        self.serial = 0
        # executions of an order we know, and those where a newer known order was ahead of it
        self.executions_checked = 0
        self.priority_violations: list = []

    # ----- recorded book operations ---------------------------------------------------------

    def place(self, order: NewOrder) -> None:
        self.operations.append(("place", order))
        self.book.place(order)

    def resize(self, order_id, price: int, new_size: int) -> None:
        if new_size > 0:
            self.operations.append(("modify", order_id, price, new_size))
            self.book.modify(order_id, new_price=price, new_size=new_size)
        else:
            self.operations.append(("cancel", order_id))
            self.book.cancel(order_id)

    def add_anonymous(self, side: Side, price: int, size: int) -> None:
        self.serial += 1
        order_id = f"anon-{self.serial}"
        self.anonymous.add(order_id)
        self.place(NewOrder(order_id=order_id, account=RESTING, side=side, price=price, size=size))

    # ----- the procedure --------------------------------------------------------------------

    def seed(self, row: list[int], message: list[int]) -> None:
        """Step 1: the first row with its message undone, then that message applied."""
        kind, order_id, size, price, direction = message
        side = Side.BUY if direction == 1 else Side.SELL
        for level_side in (Side.SELL, Side.BUY):
            for level_price, level_size in side_levels(row, self.levels, level_side):
                if kind == 1 and level_side is side and level_price == price:
                    level_size -= size
                if level_size > 0:
                    self.add_anonymous(level_side, level_price, level_size)
        if kind == 1:
            self.place(NewOrder(order_id=order_id, account=RESTING, side=side, price=price, size=size))
        # types 2/3/4: undoing then re-applying the message leaves the seeded book unchanged

    def apply(self, message: list[int]) -> None:
        """Steps 2-5: one message as book operations."""
        kind, order_id, size, price, direction = message
        side = Side.BUY if direction == 1 else Side.SELL
        if kind == 1:
            self.place(NewOrder(order_id=order_id, account=RESTING, side=side, price=price, size=size))
        elif kind in (2, 3):
            self.take_from_level(side, price, size, order_id)
        elif kind == 4:
            self.check_priority(side, price, order_id)
            self.serial += 1
            self.place(
                NewOrder(order_id=f"ioc-{self.serial}", account=TAKER, side=side.opposite, price=price,
                         size=size, time_in_force=TimeInForce.IOC)
            )  # fmt: skip

    def check_priority(self, side: Side, price: int, order_id) -> None:
        """NASDAQ executed `order_id`: in our queue only anonymous (older, unknown) orders may be ahead."""
        if self.book.order(order_id) is None:
            return
        self.executions_checked += 1
        for resting in self.book.orders_at(side, price):
            if resting.order_id == order_id:
                return
            if resting.order_id not in self.anonymous:
                self.priority_violations.append(order_id)
                return

    def take_from_level(self, side: Side, price: int, size: int, order_id=None) -> None:
        """Lower a level by `size`: the named order first, then anonymous, then newest first."""
        named = self.book.order(order_id) if order_id is not None else None
        if named is not None and named.price == price and named.side is side:
            taken = min(size, named.size)
            self.resize(order_id, price, named.size - taken)
            size -= taken
        if size <= 0:
            return
        queue = self.book.orders_at(side, price)
        ordered = [o for o in reversed(queue) if o.order_id in self.anonymous]
        ordered += [o for o in reversed(queue) if o.order_id not in self.anonymous]
        for order in ordered:
            taken = min(size, order.size)
            self.resize(order.order_id, price, order.size - taken)
            size -= taken
            if not size:
                return

    def compare_and_sync(self, previous: list[int], row: list[int], report: ReplayReport) -> None:
        """Step 6: check the determined levels, count full-row matches, then sync the rest."""
        determined_ok = full_ok = True
        for side in (Side.SELL, Side.BUY):
            shown = side_levels(row, self.levels, side)
            ours = [(level.price, level.size) for level in self.book.depth(side, self.levels)]
            full_ok = full_ok and ours == shown
            earlier = side_levels(previous, self.levels, side)
            edge = earlier[-1][0] if len(earlier) == self.levels else None
            if edge is None:
                determined_ok = determined_ok and ours == shown
                continue
            ours_determined = [lv for lv in ours if better_or_equal(side, lv[0], edge)]
            determined_ok = determined_ok and ours_determined == [lv for lv in shown if better_or_equal(side, lv[0], edge)]
            self.sync_beyond(side, edge, shown)
        report.rows += 1
        report.full_matches += full_ok
        if not determined_ok:
            report.determined_mismatches.append(report.rows)

    def sync_beyond(self, side: Side, edge: int, shown: list[tuple[int, int]]) -> None:
        """Set every level worse than `edge` from the row; the file never described them before."""
        wanted = {price: size for price, size in shown if not better_or_equal(side, price, edge)}
        deepest = shown[-1][0] if len(shown) == self.levels else None
        extra = []
        for level in self.book.iter_levels(side):
            if better_or_equal(side, level.price, edge):
                continue
            if deepest is not None and not better_or_equal(side, level.price, deepest):
                break
            if level.price not in wanted:
                extra.append((level.price, level.size))
        for price, size in extra:
            self.take_from_level(side, price, size)
        for price, size in wanted.items():
            current = self.book.level_size(side, price)
            if size > current:
                self.add_anonymous(side, price, size - current)
            elif size < current:
                self.take_from_level(side, price, current - size)


def replay(files: tuple[str, str, int]) -> tuple[ReplayReport, LobsterReplay]:
    """Replay one LOBSTER file pair; returns the comparison report and the driver."""
    message_file, book_file, levels = files
    messages, rows = read_messages(message_file), read_book_rows(book_file)
    driver = LobsterReplay(levels)
    report = ReplayReport()
    driver.seed(rows[0], messages[0])
    report.rows = 1
    report.full_matches = 1
    for index in range(1, len(messages)):
        driver.apply(messages[index])
        driver.compare_and_sync(rows[index - 1], rows[index], report)
    return report, driver
