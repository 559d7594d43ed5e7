"""The JSON-RPC methods our code uses, answered from a LiteSVM instead of a cluster.

Answers have the shapes real RPC nodes give (so `solana`'s AsyncClient parses them), with one
simplification: every processed transaction is immediately "finalized" in the current slot.
Every transaction moves to a new slot and blockhash; as on a cluster, a transaction may name any
of the last 150 blockhashes (LiteSVM alone accepts only the latest, so two clients that fetched
the same blockhash would race: the second got BlockhashNotFound).
Thread-safety: callers hold ``lock`` around every method (LiteSVM is not thread-safe).
"""

import base64
import json
import threading
import time
from collections import deque
from dataclasses import dataclass

import base58
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

PREFLIGHT_FAILED = -32002
RECENT_BLOCKHASHES = 150  # a cluster's window (MAX_RECENT_BLOCKHASHES)
INVALID_PARAMS = -32602
METHOD_NOT_FOUND = -32601


class RpcError(Exception):
    def __init__(self, code: int, message: str, data=None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


@dataclass
class _Processed:
    slot: int
    transaction: bytes
    error: object | None
    logs: list[str]
    compute_units: int
    block_time: int = 0

    @property
    def account_keys(self) -> list[str]:
        return [str(key) for key in VersionedTransaction.from_bytes(self.transaction).message.account_keys]


def _error_json(error) -> object:
    """A solders TransactionError as RPC JSON (e.g. {"InstructionError": [0, {"Custom": 6028}]})."""
    if error is None:
        return None
    kind = type(error).__name__.removeprefix("TransactionError")
    if kind == "Fieldless":
        return str(error).rsplit(".", 1)[-1]
    return {kind: json.loads(error.to_json())}


class LocalRpcMethods:
    """JSON-RPC method table over one LiteSVM."""

    def __init__(self, svm: LiteSVM) -> None:
        self.svm = svm.with_blockhash_check(False)  # checked here, against the recent window
        self.recent_blockhashes = deque([str(svm.latest_blockhash())], maxlen=RECENT_BLOCKHASHES)
        self.lock = threading.Lock()
        self.processed: dict[str, _Processed] = {}

    def call(self, method: str, params: list):
        """Dispatch one JSON-RPC call; raises RpcError for unknown methods or bad input."""
        handler = getattr(self, "rpc_" + method, None)
        if handler is None:
            raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")
        with self.lock:
            return handler(*params)

    def _context(self, value):
        return {"context": {"slot": self.svm.get_clock().slot, "apiVersion": "2.2.0"}, "value": value}

    def rpc_getHealth(self, *_):
        return "ok"

    def rpc_getVersion(self, *_):
        return {"solana-core": "2.2.0", "feature-set": 0}

    def rpc_getSlot(self, *_):
        return self.svm.get_clock().slot

    def rpc_getLatestBlockhash(self, *_):
        slot = self.svm.get_clock().slot
        return self._context({"blockhash": str(self.svm.latest_blockhash()), "lastValidBlockHeight": slot + 150})

    def rpc_getMinimumBalanceForRentExemption(self, size, *_):
        return self.svm.minimum_balance_for_rent_exemption(size)

    def rpc_getBalance(self, address, *_):
        return self._context(self.svm.get_balance(Pubkey.from_string(address)) or 0)

    def _account_json(self, address: str):
        account = self.svm.get_account(Pubkey.from_string(address))
        if account is None:
            return None
        return {"data": [base64.b64encode(bytes(account.data)).decode(), "base64"], "executable": account.executable,
                "lamports": account.lamports, "owner": str(account.owner), "rentEpoch": 0,
                "space": len(account.data)}

    def rpc_getAccountInfo(self, address, *_):
        return self._context(self._account_json(address))

    def rpc_getMultipleAccounts(self, addresses, *_):
        return self._context([self._account_json(address) for address in addresses])

    def rpc_requestAirdrop(self, address, lamports, *_):
        result = self.svm.airdrop(Pubkey.from_string(address), lamports)
        if isinstance(result, FailedTransactionMetadata):
            raise RpcError(INVALID_PARAMS, f"airdrop failed: {result.err()}")
        return str(result.signature())

    def rpc_sendTransaction(self, encoded, options=None):
        options = options or {}
        if options.get("encoding", "base58") != "base64":
            raise RpcError(INVALID_PARAMS, "only base64-encoded transactions are supported")
        raw = base64.b64decode(encoded)
        transaction = VersionedTransaction.from_bytes(raw)
        if str(transaction.message.recent_blockhash) not in self.recent_blockhashes:
            # (a node would drop it unprocessed even without preflight: say so either way)
            raise RpcError(PREFLIGHT_FAILED, "Transaction simulation failed: Blockhash not found", {
                "err": "BlockhashNotFound", "logs": [], "accounts": None, "unitsConsumed": 0,
                "returnData": None, "innerInstructions": None})
        if not options.get("skipPreflight", False):
            simulated = self.svm.simulate_transaction(transaction)
            if isinstance(simulated, FailedTransactionMetadata):
                meta = simulated.meta()
                raise RpcError(PREFLIGHT_FAILED, f"Transaction simulation failed: {simulated.err()}", {
                    "err": _error_json(simulated.err()), "logs": list(meta.logs()), "accounts": None,
                    "unitsConsumed": meta.compute_units_consumed(), "returnData": None, "innerInstructions": None})
        return self._send_raw(raw)

    def _send_raw(self, raw: bytes, block_time: int | None = None) -> str:
        """Process a transaction (no preflight), remember it, and move on to the next slot."""
        transaction = VersionedTransaction.from_bytes(raw)
        signature = str(transaction.signatures[0])
        block_time = int(time.time()) if block_time is None else block_time
        result = self.svm.send_transaction(transaction)
        slot = self.svm.get_clock().slot
        if isinstance(result, FailedTransactionMetadata):
            meta = result.meta()
            if "AlreadyProcessed" in str(result.err()):
                return signature
            self.processed[signature] = _Processed(slot, raw, result.err(), list(meta.logs()),
                                                   meta.compute_units_consumed(), block_time)
        else:
            self.processed[signature] = _Processed(slot, raw, None, list(result.logs()),
                                                   result.compute_units_consumed(), block_time)
        self._record(raw, slot, block_time, self.processed[signature].error is None)
        # A new slot and blockhash per transaction, as a cluster would move on; the slot just
        # ended joins SlotHashes (newest first, 512 kept) so lookup tables can be created from it.
        ended_hash = self.svm.latest_blockhash()
        self.svm.warp_to_slot(slot + 1)
        self.svm.expire_blockhash()
        self.recent_blockhashes.append(str(self.svm.latest_blockhash()))
        self.svm.set_slot_hashes([(slot, ended_hash)] + [h for h in self.svm.get_slot_hashes() if h[0] != slot][:511])
        return signature

    def _record(self, raw: bytes, slot: int, block_time: int, landed: bool) -> None:
        """Hook: a transaction was processed at ``slot`` (the devnet journals it)."""

    def rpc_getSignatureStatuses(self, signatures, *_):
        statuses = []
        for signature in signatures:
            done = self.processed.get(signature)
            if done is None:
                statuses.append(None)
                continue
            error = _error_json(done.error)
            statuses.append({"slot": done.slot, "confirmations": None, "err": error,
                             "status": {"Ok": None} if error is None else {"Err": error},
                             "confirmationStatus": "finalized"})
        return self._context(statuses)

    def rpc_getSignaturesForAddress(self, address, options=None):
        """Newest first, like a node: signatures of processed transactions that name ``address``."""
        options = options or {}
        limit = min(int(options.get("limit") or 1000), 1000)
        signatures = [sig for sig, done in reversed(self.processed.items()) if address in done.account_keys]
        if options.get("before") in signatures:
            signatures = signatures[signatures.index(options["before"]) + 1:]
        if options.get("until") in signatures:
            signatures = signatures[:signatures.index(options["until"])]
        answer = []
        for signature in signatures[:limit]:
            done = self.processed[signature]
            answer.append({"signature": signature, "slot": done.slot, "err": _error_json(done.error), "memo": None,
                           "blockTime": done.block_time, "confirmationStatus": "finalized"})
        return answer

    def rpc_getTransaction(self, signature, options=None):
        """The processed transaction in "base64" or "json" encoding (no parsed/jsonParsed)."""
        done = self.processed.get(signature)
        if done is None:
            return None
        encoding = (options or {}).get("encoding", "json")
        if encoding == "base64":
            transaction = [base64.b64encode(done.transaction).decode(), "base64"]
        elif encoding == "json":
            transaction = _transaction_json(done.transaction)
        else:
            raise RpcError(INVALID_PARAMS, f"unsupported encoding {encoding}")
        error = _error_json(done.error)
        return {"slot": done.slot, "blockTime": done.block_time, "version": "legacy", "transaction": transaction,
                "meta": {"err": error, "status": {"Ok": None} if error is None else {"Err": error}, "fee": 5000,
                         "preBalances": [], "postBalances": [], "innerInstructions": [], "logMessages": done.logs,
                         "preTokenBalances": [], "postTokenBalances": [], "rewards": [],
                         "loadedAddresses": {"writable": [], "readonly": []},
                         "computeUnitsConsumed": done.compute_units}}


def _transaction_json(raw: bytes) -> dict:
    """A legacy transaction in the RPC "json" encoding."""
    transaction = VersionedTransaction.from_bytes(raw)
    message = transaction.message
    header = message.header
    return {
        "signatures": [str(signature) for signature in transaction.signatures],
        "message": {
            "accountKeys": [str(key) for key in message.account_keys],
            "header": {"numRequiredSignatures": header.num_required_signatures,
                       "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
                       "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts},
            "recentBlockhash": str(message.recent_blockhash),
            "instructions": [{"programIdIndex": ix.program_id_index, "accounts": list(ix.accounts),
                              "data": base58.b58encode(bytes(ix.data)).decode(), "stackHeight": None}
                             for ix in message.instructions],
        },
    }
