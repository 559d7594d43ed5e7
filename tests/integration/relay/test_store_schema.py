"""The engine and the relay start together on a fresh database: both open the store."""

from concurrent.futures import ThreadPoolExecutor

from bus.event_store import ExchangeStore


def test_processes_opening_a_fresh_store_at_once_all_succeed(fresh_pg_dsn):
    # When four openers create the store's tables at the same instant
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: ExchangeStore(fresh_pg_dsn), range(4)))

    # Then none failed, and they share one store
    try:
        assert {store.position() for store in stores} == {0}
    finally:
        for store in stores:
            store.close()
