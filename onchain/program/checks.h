/* Account checks shared by every instruction. Each returns 0 or a distinct QD_ERR_* code. */
#pragma once
#include "quantdesk_interface.h"

#define TRY(expression) do { uint64_t error_ = (expression); if (error_) return error_; } while (0)
#define REQUIRE(condition, error) do { if (!(condition)) return (error); } while (0)

static const SolPubkey SYSTEM_PROGRAM_ID = {{0}};
#define TOKEN_ACCOUNT_SIZE 165

/* The exchange: owned by us with the Exchange discriminator (only our PDA can be). */
static uint64_t load_exchange(const SolAccountInfo *info, const SolPubkey *program_id, qd_exchange **out) {
  REQUIRE(pubkey_eq(info->owner, program_id), QD_ERR_EXCHANGE_INVALID);
  REQUIRE(info->data_len >= sizeof(qd_exchange), QD_ERR_EXCHANGE_INVALID);
  qd_exchange *exchange = (qd_exchange *)info->data;
  REQUIRE(exchange->discriminator == QD_ACCOUNT_EXCHANGE, QD_ERR_EXCHANGE_INVALID);
  *out = exchange;
  return 0;
}

/* A user account: owned by us with the UserAccount discriminator (only create_user_account makes one). */
static uint64_t load_user(const SolAccountInfo *info, const SolPubkey *program_id, qd_user_account **out) {
  REQUIRE(pubkey_eq(info->owner, program_id), QD_ERR_USER_ACCOUNT_INVALID);
  REQUIRE(info->data_len >= sizeof(qd_user_account), QD_ERR_USER_ACCOUNT_INVALID);
  qd_user_account *user = (qd_user_account *)info->data;
  REQUIRE(user->discriminator == QD_ACCOUNT_USER_ACCOUNT, QD_ERR_USER_ACCOUNT_INVALID);
  REQUIRE(info->is_writable, QD_ERR_ACCOUNT_NOT_WRITABLE);
  *out = user;
  return 0;
}

static uint64_t check_asset(const qd_exchange *exchange, uint8_t asset_index) {
  REQUIRE(asset_index < exchange->mint_count, QD_ERR_ASSET_INDEX_OUT_OF_RANGE);
  return 0;
}

static uint64_t check_vault(const qd_exchange *exchange, uint8_t asset_index, const SolAccountInfo *vault) {
  REQUIRE(!pubkey_is_zero(&exchange->vaults[asset_index]), QD_ERR_VAULT_ADDRESS_MISMATCH);
  REQUIRE(pubkey_eq(vault->key, &exchange->vaults[asset_index]), QD_ERR_VAULT_ADDRESS_MISMATCH);
  return 0;
}

static uint64_t check_token_program(const SolAccountInfo *info) {
  REQUIRE(pubkey_eq(info->key, &QD_TOKEN_PROGRAM_ID), QD_ERR_WRONG_TOKEN_PROGRAM);
  return 0;
}

static uint64_t check_system_program(const SolAccountInfo *info) {
  REQUIRE(pubkey_eq(info->key, &SYSTEM_PROGRAM_ID), QD_ERR_WRONG_SYSTEM_PROGRAM);
  return 0;
}

/* Destination of a payout: an SPL token account of the asset's mint owned by the user's owner. */
static uint64_t check_destination(const SolAccountInfo *info, const SolPubkey *mint, const SolPubkey *owner) {
  REQUIRE(pubkey_eq(info->owner, &QD_TOKEN_PROGRAM_ID), QD_ERR_DESTINATION_INVALID);
  REQUIRE(info->data_len >= TOKEN_ACCOUNT_SIZE, QD_ERR_DESTINATION_INVALID);
  REQUIRE(pubkey_eq((const SolPubkey *)info->data, mint), QD_ERR_DESTINATION_INVALID);
  REQUIRE(pubkey_eq((const SolPubkey *)(info->data + 32), owner), QD_ERR_DESTINATION_INVALID);
  return 0;
}

/* The vault authority PDA, re-derived from its stored bump (cheaper than a search). */
static uint64_t check_vault_authority(const qd_exchange *exchange, const SolAccountInfo *info,
                                      const SolPubkey *program_id) {
  uint8_t bump = exchange->vault_authority_bump;
  SolSignerSeed seeds[2] = {{QD_SEED_VAULT_AUTHORITY, sizeof(QD_SEED_VAULT_AUTHORITY)}, {&bump, 1}};
  SolPubkey expected;
  REQUIRE(sol_create_program_address(seeds, 2, program_id, &expected) == 0, QD_ERR_VAULT_AUTHORITY_MISMATCH);
  REQUIRE(pubkey_eq(info->key, &expected), QD_ERR_VAULT_AUTHORITY_MISMATCH);
  return 0;
}

static int64_t now_unix_seconds(void) {
  SolClock clock;
  sol_get_clock_sysvar(&clock);
  return clock.unix_timestamp;
}

/* balance + delta within [0, 2^64): Overdraw below zero, ArithmeticOverflow above. */
static uint64_t apply_delta(uint64_t *balance, int64_t delta) {
  if (delta >= 0) {
    uint64_t result;
    REQUIRE(!__builtin_add_overflow(*balance, (uint64_t)delta, &result), QD_ERR_ARITHMETIC_OVERFLOW);
    *balance = result;
  } else {
    uint64_t magnitude = (uint64_t)(-(delta + 1)) + 1;
    REQUIRE(*balance >= magnitude, QD_ERR_OVERDRAW);
    *balance -= magnitude;
  }
  return 0;
}

static void emit_event(const void *event, uint64_t size) {
  SolBytes slice = {(const uint8_t *)event, size};
  sol_log_data(&slice, 1);
}
