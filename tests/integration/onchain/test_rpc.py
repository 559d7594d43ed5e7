"""The real `solana` async client against our LiteSVM-backed JSON-RPC server, with failover."""

import pytest
from solana.rpc.core import RPCException
from solders.keypair import Keypair
from solders.message import Message
from solders.system_program import TransferParams
from solders.system_program import transfer as system_transfer
from solders.transaction import Transaction

from onchain.client import QuantDeskClient
from onchain.interface.spec import ERROR_CODES
from onchain.rpc.failover import AllEndpointsFailed, FailoverRpc
from tests.integration.onchain.rpc_servers import local_rpc_servers


async def send(rpc: FailoverRpc, signer: Keypair, instruction):
    blockhash = (await rpc.call(lambda c: c.get_latest_blockhash())).value.blockhash
    transaction = Transaction([signer], Message([instruction], signer.pubkey()), blockhash)
    signature = (await rpc.call(lambda c: c.send_raw_transaction(bytes(transaction)))).value
    await rpc.call(lambda c: c.confirm_transaction(signature))
    return signature


async def test_client_initializes_the_exchange_over_rpc_and_reads_it_back():
    with local_rpc_servers(1) as [(url, _process)]:
        rpc = FailoverRpc([url])
        client = QuantDeskClient()
        admin, mint = Keypair(), Keypair().pubkey()
        try:
            await rpc.call(lambda c: c.request_airdrop(admin.pubkey(), 10_000_000_000))
            # The admin initializes the exchange through the RPC
            signature = await send(rpc, admin, client.initialize_exchange(admin.pubkey(), admin.pubkey(), [mint], 60))
            # the account reads back and decodes through the IDL
            account = (await rpc.call(lambda c: c.get_account_info(client.exchange_address()))).value
            exchange = client.decode_account("Exchange", account.data)
            assert exchange.admin == admin.pubkey() and exchange.mints[0] == mint
            transaction = (await rpc.call(lambda c: c.get_transaction(signature, encoding="base64"))).value
            assert transaction.transaction.meta.err is None
            # a watcher finds the program's transactions and reads them in the default json encoding
            found = (await rpc.call(lambda c: c.get_signatures_for_address(client.program_id, limit=10))).value
            assert [entry.signature for entry in found] == [signature]
            as_json = (await rpc.call(lambda c: c.get_transaction(signature))).value.transaction
            assert as_json.transaction.signatures[0] == signature
            assert as_json.meta.compute_units_consumed > 0
            # A program error comes back as the node's answer (no failover), with our error code
            again = client.initialize_exchange(admin.pubkey(), admin.pubkey(), [mint], 60)
            with pytest.raises(RPCException) as refused:
                await send(rpc, admin, again)
            assert f"Custom({ERROR_CODES['ExchangeAlreadyInitialized']})" in str(refused.value)
        finally:
            await rpc.close()


async def test_failover_to_the_second_provider_when_the_first_dies():
    with local_rpc_servers(2) as [(first_url, first_process), (second_url, _)]:
        rpc = FailoverRpc([first_url, second_url], failure_threshold=1, cooldown_seconds=60)
        try:
            # Both providers are healthy; calls go to the first
            assert await rpc.check_health() == {first_url: True, second_url: True}
            await rpc.call(lambda c: c.get_slot())
            assert rpc.last_used == first_url
            # Kill the first provider: the next call fails over and its breaker opens
            first_process.kill()
            first_process.wait()
            await rpc.call(lambda c: c.get_slot())
            assert rpc.last_used == second_url
            assert rpc.endpoints[0].breaker.state == "open"
            assert await rpc.check_health() == {first_url: False, second_url: True}
            # writes keep working through the survivor
            payer = Keypair()
            await rpc.call(lambda c: c.request_airdrop(payer.pubkey(), 1_000_000))
            assert (await rpc.call(lambda c: c.get_balance(payer.pubkey()))).value == 1_000_000
        finally:
            await rpc.close()


async def test_all_providers_down_is_a_clear_error():
    rpc = FailoverRpc(["http://127.0.0.1:9"], failure_threshold=1, timeout_seconds=1)
    try:
        with pytest.raises(AllEndpointsFailed, match="127.0.0.1:9"):
            await rpc.call(lambda c: c.get_slot())
        with pytest.raises(AllEndpointsFailed, match="circuit open"):
            await rpc.call(lambda c: c.get_slot())
    finally:
        await rpc.close()


async def test_a_blockhash_stays_usable_for_the_last_150_slots_as_on_a_cluster():
    with local_rpc_servers(1) as [(url, _process)]:
        rpc = FailoverRpc([url])
        payer = Keypair()
        try:
            await rpc.call(lambda c: c.request_airdrop(payer.pubkey(), 10_000_000_000))
            blockhash = (await rpc.call(lambda c: c.get_latest_blockhash())).value.blockhash

            async def transfer(lamports: int, on=blockhash):
                instruction = system_transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(),
                                                             lamports=lamports))
                raw = bytes(Transaction([payer], Message([instruction], payer.pubkey()), on))
                return (await rpc.call(lambda c: c.send_raw_transaction(raw))).value

            # Two clients fetched the same blockhash: the second lands though the first moved
            # the chain on to a new slot and blockhash
            for lamports in (1_000_000, 1_000_001):
                signature = await transfer(lamports)
                assert (await rpc.call(lambda c: c.get_transaction(signature))).value.transaction.meta.err is None
            # ... until 150 newer blockhashes have come: then it is refused, as a node would
            for lamports in range(1_000_002, 1_000_150):
                await transfer(lamports, (await rpc.call(lambda c: c.get_latest_blockhash())).value.blockhash)
            with pytest.raises(RPCException, match="BlockhashNotFound"):
                await transfer(2_000_000)
        finally:
            await rpc.close()
