/* initialize_exchange and initialize_token_vault: set-up by the admin. */
#include "cpi.h"

/* Args: escape_timeout_seconds i64, mints Vec<Pubkey> (1..QD_MAX_ASSETS). */
static uint64_t initialize_exchange(const SolParameters *params, const uint8_t *args, uint64_t args_len) {
  REQUIRE(params->account_count >= QD_INITIALIZE_EXCHANGE_ACCOUNT_COUNT, QD_ERR_NOT_ENOUGH_ACCOUNTS);
  const SolAccountInfo *accounts = params->accounts;
  const SolAccountInfo *admin = &accounts[QD_INITIALIZE_EXCHANGE_ADMIN];
  const SolAccountInfo *exchange_info = &accounts[QD_INITIALIZE_EXCHANGE_EXCHANGE];
  REQUIRE(admin->is_signer, QD_ERR_ADMIN_MUST_SIGN);
  TRY(check_system_program(&accounts[QD_INITIALIZE_EXCHANGE_SYSTEM_PROGRAM]));
  REQUIRE(args_len >= sizeof(qd_initialize_exchange_args) + 4, QD_ERR_INSTRUCTION_DATA_INVALID);
  const qd_initialize_exchange_args *fixed = (const qd_initialize_exchange_args *)args;
  uint32_t mint_count = ((const struct __attribute__((packed)) { uint32_t n; } *)(args + sizeof(*fixed)))->n;
  REQUIRE(mint_count >= 1 && mint_count <= QD_MAX_ASSETS, QD_ERR_INVALID_MINT_LIST);
  REQUIRE(args_len == sizeof(*fixed) + 4 + 32ULL * mint_count, QD_ERR_INSTRUCTION_DATA_INVALID);
  REQUIRE(fixed->escape_timeout_seconds > 0, QD_ERR_INVALID_TIMEOUT);
  /* Distinct mints: one vault PDA per mint, so a repeated mint would make two assets share it. */
  const SolPubkey *mints = (const SolPubkey *)(args + sizeof(*fixed) + 4);
  for (uint32_t i = 0; i < mint_count; i++)
    for (uint32_t j = i + 1; j < mint_count; j++) REQUIRE(!pubkey_eq(&mints[i], &mints[j]), QD_ERR_INVALID_MINT_LIST);

  SolSignerSeed exchange_seed[2] = {{QD_SEED_EXCHANGE, sizeof(QD_SEED_EXCHANGE)}, {NULL, 1}};
  SolPubkey expected;
  uint8_t bump;
  sol_try_find_program_address(exchange_seed, 1, params->program_id, &expected, &bump);
  REQUIRE(pubkey_eq(exchange_info->key, &expected), QD_ERR_EXCHANGE_ADDRESS_MISMATCH);
  REQUIRE(exchange_info->data_len == 0 && pubkey_eq(exchange_info->owner, &SYSTEM_PROGRAM_ID),
          QD_ERR_EXCHANGE_ALREADY_INITIALIZED);
  SolSignerSeed authority_seed[1] = {{QD_SEED_VAULT_AUTHORITY, sizeof(QD_SEED_VAULT_AUTHORITY)}};
  uint8_t authority_bump;
  sol_try_find_program_address(authority_seed, 1, params->program_id, &expected, &authority_bump);
  REQUIRE(pubkey_eq(accounts[QD_INITIALIZE_EXCHANGE_VAULT_AUTHORITY].key, &expected),
          QD_ERR_VAULT_AUTHORITY_MISMATCH);

  exchange_seed[1].addr = &bump;
  SolSignerSeeds signer = {exchange_seed, 2};
  SolAccountInfo pair[2] = {*admin, *exchange_info};
  TRY(create_pda_account(pair, sizeof(qd_exchange), params->program_id, &signer));
  refresh_data_len(exchange_info);

  qd_exchange *exchange = (qd_exchange *)exchange_info->data;
  zero_bytes((uint8_t *)exchange, sizeof(qd_exchange));
  exchange->discriminator = QD_ACCOUNT_EXCHANGE;
  exchange->admin = *admin->key;
  exchange->settlement_authority = *accounts[QD_INITIALIZE_EXCHANGE_SETTLEMENT_AUTHORITY].key;
  copy_bytes((uint8_t *)exchange->mints, args + sizeof(*fixed) + 4, 32ULL * mint_count);
  exchange->mint_count = (uint8_t)mint_count;
  exchange->escape_timeout_seconds = fixed->escape_timeout_seconds;
  exchange->last_settled_at = now_unix_seconds();
  exchange->bump = bump;
  exchange->vault_authority_bump = authority_bump;
  return 0;
}

static uint64_t initialize_token_vault(const SolParameters *params, const uint8_t *args, uint64_t args_len) {
  REQUIRE(params->account_count >= QD_INITIALIZE_TOKEN_VAULT_ACCOUNT_COUNT, QD_ERR_NOT_ENOUGH_ACCOUNTS);
  REQUIRE(args_len == sizeof(qd_initialize_token_vault_args), QD_ERR_INSTRUCTION_DATA_INVALID);
  const qd_initialize_token_vault_args *parsed = (const qd_initialize_token_vault_args *)args;
  const SolAccountInfo *accounts = params->accounts;
  const SolAccountInfo *admin = &accounts[QD_INITIALIZE_TOKEN_VAULT_ADMIN];
  const SolAccountInfo *mint = &accounts[QD_INITIALIZE_TOKEN_VAULT_MINT];
  const SolAccountInfo *vault = &accounts[QD_INITIALIZE_TOKEN_VAULT_VAULT];
  REQUIRE(admin->is_signer, QD_ERR_ADMIN_MUST_SIGN);
  qd_exchange *exchange;
  TRY(load_exchange(&accounts[QD_INITIALIZE_TOKEN_VAULT_EXCHANGE], params->program_id, &exchange));
  REQUIRE(accounts[QD_INITIALIZE_TOKEN_VAULT_EXCHANGE].is_writable, QD_ERR_ACCOUNT_NOT_WRITABLE);
  REQUIRE(pubkey_eq(admin->key, &exchange->admin), QD_ERR_WRONG_ADMIN);
  TRY(check_asset(exchange, parsed->asset_index));
  REQUIRE(pubkey_eq(mint->key, &exchange->mints[parsed->asset_index]), QD_ERR_MINT_MISMATCH);
  REQUIRE(pubkey_is_zero(&exchange->vaults[parsed->asset_index]), QD_ERR_VAULT_ALREADY_INITIALIZED);
  TRY(check_vault_authority(exchange, &accounts[QD_INITIALIZE_TOKEN_VAULT_VAULT_AUTHORITY], params->program_id));
  TRY(check_token_program(&accounts[QD_INITIALIZE_TOKEN_VAULT_TOKEN_PROGRAM]));
  TRY(check_system_program(&accounts[QD_INITIALIZE_TOKEN_VAULT_SYSTEM_PROGRAM]));

  SolSignerSeed vault_seed[3] = {{QD_SEED_VAULT, sizeof(QD_SEED_VAULT)}, {mint->key->x, 32}, {NULL, 1}};
  SolPubkey expected;
  uint8_t bump;
  sol_try_find_program_address(vault_seed, 2, params->program_id, &expected, &bump);
  REQUIRE(pubkey_eq(vault->key, &expected), QD_ERR_VAULT_ADDRESS_MISMATCH);
  vault_seed[2].addr = &bump;
  SolSignerSeeds signer = {vault_seed, 3};
  SolAccountInfo pair[2] = {*admin, *vault};
  TRY(create_pda_account(pair, TOKEN_ACCOUNT_SIZE, &QD_TOKEN_PROGRAM_ID, &signer));
  refresh_data_len(vault);
  TRY(token_initialize_account3(vault, mint, accounts[QD_INITIALIZE_TOKEN_VAULT_VAULT_AUTHORITY].key));
  exchange->vaults[parsed->asset_index] = *vault->key;
  return 0;
}
