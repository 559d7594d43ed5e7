/* escape_withdraw: the user's way out when the operator stops settling.
 * Open once now - last_settled_at >= escape_timeout_seconds; the first use freezes the exchange
 * (no more deposits or batches) and every user may then take their last settled balance. */
#include "cpi.h"

static uint64_t escape_withdraw(const SolParameters *params, const uint8_t *args, uint64_t args_len) {
  REQUIRE(params->account_count >= QD_ESCAPE_WITHDRAW_ACCOUNT_COUNT, QD_ERR_NOT_ENOUGH_ACCOUNTS);
  REQUIRE(args_len == sizeof(qd_escape_withdraw_args), QD_ERR_INSTRUCTION_DATA_INVALID);
  uint8_t asset_index = ((const qd_escape_withdraw_args *)args)->asset_index;
  const SolAccountInfo *accounts = params->accounts;
  const SolAccountInfo *owner = &accounts[QD_ESCAPE_WITHDRAW_OWNER];
  REQUIRE(owner->is_signer, QD_ERR_OWNER_MUST_SIGN);
  qd_exchange *exchange;
  TRY(load_exchange(&accounts[QD_ESCAPE_WITHDRAW_EXCHANGE], params->program_id, &exchange));
  REQUIRE(accounts[QD_ESCAPE_WITHDRAW_EXCHANGE].is_writable, QD_ERR_ACCOUNT_NOT_WRITABLE);
  qd_user_account *user;
  TRY(load_user(&accounts[QD_ESCAPE_WITHDRAW_USER_ACCOUNT], params->program_id, &user));
  REQUIRE(pubkey_eq(owner->key, &user->owner), QD_ERR_WRONG_OWNER);
  TRY(check_asset(exchange, asset_index));

  int64_t now = now_unix_seconds();
  int64_t opens_at;
  REQUIRE(!__builtin_add_overflow(exchange->last_settled_at, exchange->escape_timeout_seconds, &opens_at),
          QD_ERR_ARITHMETIC_OVERFLOW);
  REQUIRE(exchange->frozen || now >= opens_at, QD_ERR_ESCAPE_HATCH_NOT_OPEN);
  uint64_t amount = user->balances[asset_index];
  REQUIRE(amount > 0, QD_ERR_NOTHING_TO_WITHDRAW);
  const SolAccountInfo *vault = &accounts[QD_ESCAPE_WITHDRAW_VAULT];
  const SolAccountInfo *destination = &accounts[QD_ESCAPE_WITHDRAW_DESTINATION];
  TRY(check_vault(exchange, asset_index, vault));
  TRY(check_destination(destination, &exchange->mints[asset_index], &user->owner));
  TRY(check_vault_authority(exchange, &accounts[QD_ESCAPE_WITHDRAW_VAULT_AUTHORITY], params->program_id));
  TRY(check_token_program(&accounts[QD_ESCAPE_WITHDRAW_TOKEN_PROGRAM]));

  exchange->frozen = 1;
  user->balances[asset_index] = 0;
  TRY(pay_out(exchange, vault, destination, &accounts[QD_ESCAPE_WITHDRAW_VAULT_AUTHORITY], amount));
  qd_event_escape_withdrawn event;
  event.discriminator = QD_EVENT_ESCAPE_WITHDRAWN;
  event.user_account = *accounts[QD_ESCAPE_WITHDRAW_USER_ACCOUNT].key;
  event.asset_index = asset_index;
  event.amount = amount;
  event.frozen_at = now;
  emit_event(&event, sizeof(event));
  return 0;
}
