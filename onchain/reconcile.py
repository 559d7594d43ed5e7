"""Reconciliation: per account and asset, the on-chain settled balance equals the read model's
balance at the log position of the last settled batch.

    on-chain balance − deposits not yet in the log at that position  ==  read model as of it

The last batch's `log_hash` names its log position (audit chain); the read model's balance as
of that position is the last `read.balance_history` row at or below it. Deposits are credited
on chain the moment they happen but reach the log only through the watcher, so the on-chain
`deposited` total minus the log's deposits up to the position is "in flight" and set aside.
The exchange and every user account are read in ONE getMultipleAccounts call (one slot), so a
batch landing mid-read cannot produce a false alarm. Accounts of the settler itself (fees,
pool: owned by the exchange's settlement authority) are not compared — the pool absorbs the
net realized PnL of each batch, which the read model does not book to it (its float is a
deposit the read model does see, e.g. the devnet's).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from solders.pubkey import Pubkey

from onchain.assets import AssetMap
from onchain.gateway import ChainGateway
from onchain.settler import log_chain

READ_MODEL = "account_state"


@dataclass(frozen=True)
class BalanceCheck:
    account: str  # <owner>/<sub_account>, as in the read models
    asset: str
    on_chain: int
    in_flight_deposits: int
    read_model: int

    @property
    def difference(self) -> int:
        """On-chain settled balance minus the read model's (0 when they agree). A negative
        in-flight amount — the log credited more than was ever deposited on chain — is not
        set aside: it shows as a difference."""
        return self.on_chain - max(self.in_flight_deposits, 0) - self.read_model


@dataclass(frozen=True)
class Reconciliation:
    sequence: int
    position: int
    checks: list[BalanceCheck]

    @property
    def divergent(self) -> list[BalanceCheck]:
        return [check for check in self.checks if check.difference != 0]


class NotCaughtUp(RuntimeError):
    """The read model has not reached the last batch's log position yet."""


def read_model_position(conn) -> int:
    row = conn.execute(f"SELECT greatest(position, consistent_through) FROM read.position_{READ_MODEL}").fetchone()
    return int(row[0]) if row else 0


def read_model_balances(conn, position: int) -> dict[tuple[str, str], tuple[int, int]]:
    """{(account, asset): (balance as of position, deposits up to position)}."""
    balances = conn.execute(
        "SELECT DISTINCT ON (account, asset) account, asset, amount FROM read.balance_history"
        " WHERE position <= %s ORDER BY account, asset, position DESC", (position,)).fetchall()
    deposits = dict(((a, s), int(d)) for a, s, d in conn.execute(
        "SELECT account, asset, sum(delta) FROM read.balance_history WHERE reason = 'deposit' AND position <= %s"
        " GROUP BY account, asset", (position,)).fetchall())
    return {(a, s): (int(amount), deposits.get((a, s), 0)) for a, s, amount in balances}


async def reconcile(gateway: ChainGateway, conn, asset_symbols: tuple[str, ...]) -> Reconciliation:
    """Compare every read-model balance of a settled asset with the chain at the last batch."""
    client = gateway.client
    first = await gateway.exchange_state()
    assets = AssetMap(asset_symbols, first.mints)
    position = log_chain.position_of(conn, first.log_hash)
    if read_model_position(conn) < position:
        raise NotCaughtUp(f"read model at {read_model_position(conn)}, last batch at position {position}")
    settler = str((client.decode_account("Exchange", await gateway.account_data(client.exchange_address()))
                   ).settlement_authority)
    rows = {key: value for key, value in read_model_balances(conn, position).items()
            if not key[0].startswith(settler + "/")}
    accounts = sorted({account for account, _ in rows})
    addresses = [client.exchange_address()] + [_user_address(client, account) for account in accounts]
    answer = (await gateway.rpc.call(lambda c: c.get_multiple_accounts(addresses))).value
    exchange = client.decode_account("Exchange", answer[0].data)
    if exchange.last_sequence != first.last_sequence:  # a batch landed in between: read again
        return await reconcile(gateway, conn, asset_symbols)
    users = {account: None if info is None else client.decode_account("UserAccount", info.data)
             for account, info in zip(accounts, answer[1:])}
    checks = []
    for (account, asset), (amount, logged_deposits) in sorted(rows.items()):
        if asset not in assets.symbols:
            continue
        index, user = assets.index_of(asset), users[account]
        on_chain = 0 if user is None else int(user.balances[index])
        deposited = 0 if user is None else int(user.deposited[index])
        checks.append(BalanceCheck(account, asset, on_chain, deposited - logged_deposits, amount))
    return Reconciliation(first.last_sequence, position, checks)


def _user_address(client, account: str) -> Pubkey:
    owner, sub_account = account.rsplit("/", 1)
    return client.user_account_address(Pubkey.from_string(owner), int(sub_account))


def connect(dsn: str):
    """An autocommit connection to the database holding the log chain and the read models."""
    return psycopg.connect(dsn, autocommit=True)
