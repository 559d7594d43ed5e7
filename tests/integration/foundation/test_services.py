"""The test servers are the real thing: JetStream answers, PostgreSQL runs transactions."""

import nats
import psycopg


async def test_jetstream_round_trip(nats_url, unique_id):
    # Given a stream on the session's nats-server
    client = await nats.connect(nats_url)
    jetstream = client.jetstream()
    await jetstream.add_stream(name=f"T_{unique_id}", subjects=[f"t.{unique_id}.>"])

    # When a message is published with a message id, twice
    first = await jetstream.publish(f"t.{unique_id}.a", b"hello", headers={"Nats-Msg-Id": "m1"})
    again = await jetstream.publish(f"t.{unique_id}.a", b"hello", headers={"Nats-Msg-Id": "m1"})

    # Then JetStream stored it once and reports the duplicate
    assert first.seq == again.seq and again.duplicate
    message = await jetstream.get_last_msg(f"T_{unique_id}", f"t.{unique_id}.a")
    assert message.data == b"hello"
    await jetstream.delete_stream(f"T_{unique_id}")
    await client.close()


def test_postgres_transactions(fresh_pg_dsn):
    # Given an empty database of our own
    with psycopg.connect(fresh_pg_dsn) as conn:
        conn.execute("CREATE TABLE t (n bigint)")
        conn.commit()
        # When a transaction inserts and rolls back
        conn.execute("INSERT INTO t VALUES (1)")
        conn.rollback()
        # Then nothing was written
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0
