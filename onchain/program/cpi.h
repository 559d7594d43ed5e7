/* Cross-program invocations: system CreateAccount/Transfer and SPL Token Transfer/InitializeAccount3/SyncNative. */
#pragma once
#include "checks.h"

static uint64_t rent_exempt_minimum(uint64_t space, uint64_t *lamports) {
  SolRent rent;
  sol_get_rent_sysvar(&rent);
  /* 2.0 as f64 bits: the only threshold Solana uses; refuse rather than do float math. */
  REQUIRE(rent.exemption_threshold_bits == 0x4000000000000000ULL, QD_ERR_UNSUPPORTED_RENT);
  *lamports = (space + 128) * rent.lamports_per_byte_year * 2;
  return 0;
}

/* Create `target` (a PDA signed by `seeds`) funded by `payer`, `space` bytes, owned by `owner`. */
static uint64_t create_pda_account(const SolAccountInfo *accounts_pair, uint64_t space, const SolPubkey *owner,
                                   const SolSignerSeeds *seeds) {
  /* accounts_pair[0] = payer, accounts_pair[1] = target */
  uint64_t lamports;
  TRY(rent_exempt_minimum(space, &lamports));
  struct __attribute__((packed)) { uint32_t kind; uint64_t lamports; uint64_t space; SolPubkey owner; } data;
  data.kind = 0;
  data.lamports = lamports;
  data.space = space;
  data.owner = *owner;
  SolAccountMeta metas[2] = {{accounts_pair[0].key, true, true}, {accounts_pair[1].key, true, true}};
  SolInstruction instruction = {&SYSTEM_PROGRAM_ID, metas, 2, (const uint8_t *)&data, sizeof(data)};
  return sol_invoke_signed_c(&instruction, accounts_pair, 2, seeds, 1);
}

/* A CPI that resizes an account updates the serialized length (8 bytes before the data) but not
 * our parsed copy; later CPIs must present the new length or the runtime reports a size change. */
static void refresh_data_len(const SolAccountInfo *info) {
  ((SolAccountInfo *)info)->data_len = *(const uint64_t *)(info->data - 8);
}

static uint64_t system_transfer(const SolAccountInfo *from, const SolAccountInfo *to, uint64_t lamports) {
  struct __attribute__((packed)) { uint32_t kind; uint64_t lamports; } data = {2, lamports};
  SolAccountMeta metas[2] = {{from->key, true, true}, {to->key, true, false}};
  SolAccountInfo infos[2] = {*from, *to};
  SolInstruction instruction = {&SYSTEM_PROGRAM_ID, metas, 2, (const uint8_t *)&data, sizeof(data)};
  return sol_invoke_signed_c(&instruction, infos, 2, NULL, 0);
}

/* SPL Transfer of `amount` from infos[0] to infos[1], authority infos[2] (signed by `seeds` if given). */
static uint64_t token_transfer(const SolAccountInfo *infos, uint64_t amount, const SolSignerSeeds *seeds) {
  struct __attribute__((packed)) { uint8_t kind; uint64_t amount; } data = {3, amount};
  SolAccountMeta metas[3] = {{infos[0].key, true, false}, {infos[1].key, true, false}, {infos[2].key, false, true}};
  SolInstruction instruction = {&QD_TOKEN_PROGRAM_ID, metas, 3, (const uint8_t *)&data, sizeof(data)};
  return sol_invoke_signed_c(&instruction, infos, 3, seeds, seeds ? 1 : 0);
}

static uint64_t token_initialize_account3(const SolAccountInfo *vault, const SolAccountInfo *mint,
                                          const SolPubkey *owner) {
  struct __attribute__((packed)) { uint8_t kind; SolPubkey owner; } data;
  data.kind = 18;
  data.owner = *owner;
  SolAccountMeta metas[2] = {{vault->key, true, false}, {mint->key, false, false}};
  SolAccountInfo infos[2] = {*vault, *mint};
  SolInstruction instruction = {&QD_TOKEN_PROGRAM_ID, metas, 2, (const uint8_t *)&data, sizeof(data)};
  return sol_invoke_signed_c(&instruction, infos, 2, NULL, 0);
}

static uint64_t token_sync_native(const SolAccountInfo *vault) {
  uint8_t data = 17;
  SolAccountMeta metas[1] = {{vault->key, true, false}};
  SolInstruction instruction = {&QD_TOKEN_PROGRAM_ID, metas, 1, &data, 1};
  return sol_invoke_signed_c(&instruction, vault, 1, NULL, 0);
}

/* Pay `amount` of a vault to `destination`, signed by the vault authority PDA. */
static uint64_t pay_out(const qd_exchange *exchange, const SolAccountInfo *vault, const SolAccountInfo *destination,
                        const SolAccountInfo *vault_authority, uint64_t amount) {
  uint8_t bump = exchange->vault_authority_bump;
  SolSignerSeed seed_list[2] = {{QD_SEED_VAULT_AUTHORITY, sizeof(QD_SEED_VAULT_AUTHORITY)}, {&bump, 1}};
  SolSignerSeeds signer = {seed_list, 2};
  SolAccountInfo infos[3] = {*vault, *destination, *vault_authority};
  return token_transfer(infos, amount, &signer);
}
