/* settle_batch: apply one batch of the engine's results, exactly once, in sequence.
 *
 * Invariants: sequence == last_sequence + 1; previous_hash == the stored log hash; per asset
 * the deltas (fee and insurance accounts included) sum to zero; no balance goes below zero;
 * withdrawals leave through PDA-signed transfers from the exchange's own vaults to token
 * accounts owned by the user's owner. Remaining accounts (index >= 4) are named by index. */
#include "cpi.h"

typedef struct __attribute__((packed)) { uint32_t value; } packed_u32;

typedef struct {
  const SolParameters *params;
  qd_exchange *exchange;
  uint64_t sequence;
} batch_context;

static uint64_t batch_user(const batch_context *batch, uint8_t account_index, qd_user_account **user) {
  REQUIRE(account_index >= QD_SETTLE_BATCH_ACCOUNT_COUNT && account_index < batch->params->account_count,
          QD_ERR_ACCOUNT_INDEX_OUT_OF_RANGE);
  TRY(load_user(&batch->params->accounts[account_index], batch->params->program_id, user));
  (*user)->last_sequence = batch->sequence;
  return 0;
}

static uint64_t apply_deltas(const batch_context *batch, const qd_delta *deltas, uint32_t count) {
  int64_t sums[QD_MAX_ASSETS] = {0, 0, 0, 0};
  for (uint32_t i = 0; i < count; i++) {
    const qd_delta *delta = &deltas[i];
    TRY(check_asset(batch->exchange, delta->asset_index));
    qd_user_account *user;
    TRY(batch_user(batch, delta->account_index, &user));
    REQUIRE(!__builtin_add_overflow(sums[delta->asset_index], delta->amount, &sums[delta->asset_index]),
            QD_ERR_ARITHMETIC_OVERFLOW);
    TRY(apply_delta(&user->balances[delta->asset_index], delta->amount));
  }
  for (int asset = 0; asset < QD_MAX_ASSETS; asset++) REQUIRE(sums[asset] == 0, QD_ERR_DELTAS_DO_NOT_SUM_TO_ZERO);
  return 0;
}

static uint64_t execute_withdrawal(const batch_context *batch, const qd_withdrawal *withdrawal) {
  const SolParameters *params = batch->params;
  TRY(check_asset(batch->exchange, withdrawal->asset_index));
  REQUIRE(withdrawal->amount > 0, QD_ERR_ZERO_AMOUNT);
  qd_user_account *user;
  TRY(batch_user(batch, withdrawal->account_index, &user));
  REQUIRE(user->balances[withdrawal->asset_index] >= withdrawal->amount, QD_ERR_OVERDRAW);
  REQUIRE(withdrawal->vault_index < params->account_count && withdrawal->destination_index < params->account_count,
          QD_ERR_ACCOUNT_INDEX_OUT_OF_RANGE);
  const SolAccountInfo *vault = &params->accounts[withdrawal->vault_index];
  const SolAccountInfo *destination = &params->accounts[withdrawal->destination_index];
  TRY(check_vault(batch->exchange, withdrawal->asset_index, vault));
  TRY(check_destination(destination, &batch->exchange->mints[withdrawal->asset_index], &user->owner));
  user->balances[withdrawal->asset_index] -= withdrawal->amount;
  TRY(pay_out(batch->exchange, vault, destination, &params->accounts[QD_SETTLE_BATCH_VAULT_AUTHORITY],
              withdrawal->amount));
  qd_event_withdrawn event;
  event.discriminator = QD_EVENT_WITHDRAWN;
  event.user_account = *params->accounts[withdrawal->account_index].key;
  event.asset_index = withdrawal->asset_index;
  event.amount = withdrawal->amount;
  event.sequence = batch->sequence;
  emit_event(&event, sizeof(event));
  return 0;
}

/* Args: sequence u64, previous_hash [32], log_hash [32], deltas Vec<Delta>, withdrawals Vec<Withdrawal>. */
static uint64_t settle_batch(const SolParameters *params, const uint8_t *args, uint64_t args_len) {
  REQUIRE(params->account_count >= QD_SETTLE_BATCH_ACCOUNT_COUNT, QD_ERR_NOT_ENOUGH_ACCOUNTS);
  const SolAccountInfo *accounts = params->accounts;
  REQUIRE(accounts[QD_SETTLE_BATCH_AUTHORITY].is_signer, QD_ERR_AUTHORITY_MUST_SIGN);
  qd_exchange *exchange;
  TRY(load_exchange(&accounts[QD_SETTLE_BATCH_EXCHANGE], params->program_id, &exchange));
  REQUIRE(accounts[QD_SETTLE_BATCH_EXCHANGE].is_writable, QD_ERR_ACCOUNT_NOT_WRITABLE);
  REQUIRE(pubkey_eq(accounts[QD_SETTLE_BATCH_AUTHORITY].key, &exchange->settlement_authority),
          QD_ERR_WRONG_AUTHORITY);
  REQUIRE(!exchange->frozen, QD_ERR_EXCHANGE_FROZEN);

  /* Parse the variable-length tail, exactly: no short reads, no trailing bytes. */
  uint64_t cursor = sizeof(qd_settle_batch_args);
  REQUIRE(args_len >= cursor + 4, QD_ERR_INSTRUCTION_DATA_INVALID);
  const qd_settle_batch_args *fixed = (const qd_settle_batch_args *)args;
  uint32_t delta_count = ((const packed_u32 *)(args + cursor))->value;
  cursor += 4;
  REQUIRE(args_len >= cursor + (uint64_t)delta_count * sizeof(qd_delta) + 4, QD_ERR_INSTRUCTION_DATA_INVALID);
  const qd_delta *deltas = (const qd_delta *)(args + cursor);
  cursor += (uint64_t)delta_count * sizeof(qd_delta);
  uint32_t withdrawal_count = ((const packed_u32 *)(args + cursor))->value;
  cursor += 4;
  REQUIRE(args_len == cursor + (uint64_t)withdrawal_count * sizeof(qd_withdrawal), QD_ERR_INSTRUCTION_DATA_INVALID);
  const qd_withdrawal *withdrawals = (const qd_withdrawal *)(args + cursor);

  REQUIRE(fixed->sequence > exchange->last_sequence, QD_ERR_SEQUENCE_REPLAYED);
  REQUIRE(fixed->sequence == exchange->last_sequence + 1, QD_ERR_SEQUENCE_SKIPPED);
  uint8_t hash_difference = 0;
  for (int i = 0; i < 32; i++) hash_difference |= fixed->previous_hash[i] ^ exchange->log_hash[i];
  REQUIRE(hash_difference == 0, QD_ERR_PREVIOUS_HASH_MISMATCH);

  batch_context batch = {params, exchange, fixed->sequence};
  TRY(apply_deltas(&batch, deltas, delta_count));
  if (withdrawal_count > 0) {
    TRY(check_vault_authority(exchange, &accounts[QD_SETTLE_BATCH_VAULT_AUTHORITY], params->program_id));
    TRY(check_token_program(&accounts[QD_SETTLE_BATCH_TOKEN_PROGRAM]));
  }
  for (uint32_t i = 0; i < withdrawal_count; i++) TRY(execute_withdrawal(&batch, &withdrawals[i]));

  exchange->last_sequence = fixed->sequence;
  copy_bytes(exchange->log_hash, fixed->log_hash, 32);
  exchange->last_settled_at = now_unix_seconds();
  qd_event_batch_settled event;
  event.discriminator = QD_EVENT_BATCH_SETTLED;
  event.sequence = fixed->sequence;
  copy_bytes(event.previous_hash, fixed->previous_hash, 32);
  copy_bytes(event.log_hash, fixed->log_hash, 32);
  event.delta_count = delta_count;
  event.withdrawal_count = withdrawal_count;
  emit_event(&event, sizeof(event));
  return 0;
}
