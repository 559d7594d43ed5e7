/* create_user_account, deposit_tokens and deposit_native_sol: user-signed instructions. */
#include "cpi.h"

static uint64_t create_user_account(const SolParameters *params, const uint8_t *args, uint64_t args_len) {
  REQUIRE(params->account_count >= QD_CREATE_USER_ACCOUNT_ACCOUNT_COUNT, QD_ERR_NOT_ENOUGH_ACCOUNTS);
  REQUIRE(args_len == sizeof(qd_create_user_account_args), QD_ERR_INSTRUCTION_DATA_INVALID);
  uint8_t sub_account = ((const qd_create_user_account_args *)args)->sub_account;
  const SolAccountInfo *accounts = params->accounts;
  const SolAccountInfo *owner = &accounts[QD_CREATE_USER_ACCOUNT_OWNER];
  const SolAccountInfo *user_info = &accounts[QD_CREATE_USER_ACCOUNT_USER_ACCOUNT];
  REQUIRE(owner->is_signer, QD_ERR_OWNER_MUST_SIGN);
  qd_exchange *exchange;
  TRY(load_exchange(&accounts[QD_CREATE_USER_ACCOUNT_EXCHANGE], params->program_id, &exchange));
  REQUIRE(!exchange->frozen, QD_ERR_EXCHANGE_FROZEN);
  TRY(check_system_program(&accounts[QD_CREATE_USER_ACCOUNT_SYSTEM_PROGRAM]));

  SolSignerSeed seeds[4] = {{QD_SEED_USER, sizeof(QD_SEED_USER)}, {owner->key->x, 32}, {&sub_account, 1}, {NULL, 1}};
  SolPubkey expected;
  uint8_t bump;
  sol_try_find_program_address(seeds, 3, params->program_id, &expected, &bump);
  REQUIRE(pubkey_eq(user_info->key, &expected), QD_ERR_USER_ACCOUNT_ADDRESS_MISMATCH);
  REQUIRE(user_info->data_len == 0 && pubkey_eq(user_info->owner, &SYSTEM_PROGRAM_ID),
          QD_ERR_USER_ACCOUNT_ALREADY_EXISTS);
  seeds[3].addr = &bump;
  SolSignerSeeds signer = {seeds, 4};
  SolAccountInfo pair[2] = {*owner, *user_info};
  TRY(create_pda_account(pair, sizeof(qd_user_account), params->program_id, &signer));
  refresh_data_len(user_info);

  qd_user_account *user = (qd_user_account *)user_info->data;
  zero_bytes((uint8_t *)user, sizeof(qd_user_account));
  user->discriminator = QD_ACCOUNT_USER_ACCOUNT;
  user->owner = *owner->key;
  user->sub_account = sub_account;
  user->bump = bump;
  return 0;
}

/* Shared tail of both deposits: credit the user and log Deposited. */
static uint64_t credit_deposit(qd_user_account *user, const SolAccountInfo *user_info, uint8_t asset_index,
                               uint64_t amount) {
  uint64_t deposited, balance;
  REQUIRE(!__builtin_add_overflow(user->deposited[asset_index], amount, &deposited), QD_ERR_ARITHMETIC_OVERFLOW);
  REQUIRE(!__builtin_add_overflow(user->balances[asset_index], amount, &balance), QD_ERR_ARITHMETIC_OVERFLOW);
  user->deposited[asset_index] = deposited;
  user->balances[asset_index] = balance;
  qd_event_deposited event;
  event.discriminator = QD_EVENT_DEPOSITED;
  event.owner = user->owner;
  event.user_account = *user_info->key;
  event.asset_index = asset_index;
  event.amount = amount;
  event.deposited_total = deposited;
  event.balance = balance;
  emit_event(&event, sizeof(event));
  return 0;
}

/* Checks common to both deposits: signer, live exchange, the signer's own user account. */
static uint64_t check_depositor(const SolParameters *params, const SolAccountInfo *owner, qd_exchange **exchange,
                                const SolAccountInfo *user_info, qd_user_account **user) {
  REQUIRE(owner->is_signer, QD_ERR_OWNER_MUST_SIGN);
  TRY(load_exchange(&params->accounts[QD_DEPOSIT_TOKENS_EXCHANGE], params->program_id, exchange));
  REQUIRE(!(*exchange)->frozen, QD_ERR_EXCHANGE_FROZEN);
  TRY(load_user(user_info, params->program_id, user));
  REQUIRE(pubkey_eq(owner->key, &(*user)->owner), QD_ERR_WRONG_OWNER);
  return 0;
}

static uint64_t deposit_tokens(const SolParameters *params, const uint8_t *args, uint64_t args_len) {
  REQUIRE(params->account_count >= QD_DEPOSIT_TOKENS_ACCOUNT_COUNT, QD_ERR_NOT_ENOUGH_ACCOUNTS);
  REQUIRE(args_len == sizeof(qd_deposit_tokens_args), QD_ERR_INSTRUCTION_DATA_INVALID);
  const qd_deposit_tokens_args *parsed = (const qd_deposit_tokens_args *)args;
  const SolAccountInfo *accounts = params->accounts;
  qd_exchange *exchange;
  qd_user_account *user;
  TRY(check_depositor(params, &accounts[QD_DEPOSIT_TOKENS_OWNER], &exchange,
                      &accounts[QD_DEPOSIT_TOKENS_USER_ACCOUNT], &user));
  TRY(check_asset(exchange, parsed->asset_index));
  REQUIRE(parsed->amount > 0, QD_ERR_ZERO_AMOUNT);
  TRY(check_vault(exchange, parsed->asset_index, &accounts[QD_DEPOSIT_TOKENS_VAULT]));
  TRY(check_token_program(&accounts[QD_DEPOSIT_TOKENS_TOKEN_PROGRAM]));
  SolAccountInfo infos[3] = {accounts[QD_DEPOSIT_TOKENS_SOURCE], accounts[QD_DEPOSIT_TOKENS_VAULT],
                             accounts[QD_DEPOSIT_TOKENS_OWNER]};
  TRY(token_transfer(infos, parsed->amount, NULL));
  return credit_deposit(user, &accounts[QD_DEPOSIT_TOKENS_USER_ACCOUNT], parsed->asset_index, parsed->amount);
}

static uint64_t deposit_native_sol(const SolParameters *params, const uint8_t *args, uint64_t args_len) {
  REQUIRE(params->account_count >= QD_DEPOSIT_NATIVE_SOL_ACCOUNT_COUNT, QD_ERR_NOT_ENOUGH_ACCOUNTS);
  REQUIRE(args_len == sizeof(qd_deposit_native_sol_args), QD_ERR_INSTRUCTION_DATA_INVALID);
  uint64_t amount = ((const qd_deposit_native_sol_args *)args)->amount;
  const SolAccountInfo *accounts = params->accounts;
  qd_exchange *exchange;
  qd_user_account *user;
  TRY(check_depositor(params, &accounts[QD_DEPOSIT_NATIVE_SOL_OWNER], &exchange,
                      &accounts[QD_DEPOSIT_NATIVE_SOL_USER_ACCOUNT], &user));
  uint8_t asset_index = QD_MAX_ASSETS;
  for (uint8_t i = 0; i < exchange->mint_count; i++)
    if (pubkey_eq(&exchange->mints[i], &QD_NATIVE_MINT)) asset_index = i;
  REQUIRE(asset_index < QD_MAX_ASSETS, QD_ERR_NOT_NATIVE_MINT);
  REQUIRE(amount > 0, QD_ERR_ZERO_AMOUNT);
  const SolAccountInfo *vault = &accounts[QD_DEPOSIT_NATIVE_SOL_VAULT];
  TRY(check_vault(exchange, asset_index, vault));
  TRY(check_token_program(&accounts[QD_DEPOSIT_NATIVE_SOL_TOKEN_PROGRAM]));
  TRY(check_system_program(&accounts[QD_DEPOSIT_NATIVE_SOL_SYSTEM_PROGRAM]));
  /* Wrap: lamports into the wrapped-SOL vault, then SyncNative so its token amount follows. */
  TRY(system_transfer(&accounts[QD_DEPOSIT_NATIVE_SOL_OWNER], vault, amount));
  TRY(token_sync_native(vault));
  return credit_deposit(user, &accounts[QD_DEPOSIT_NATIVE_SOL_USER_ACCOUNT], asset_index, amount);
}
