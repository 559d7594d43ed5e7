/* The subset of the Solana C SDK this program uses: types, syscalls and input parsing.
 * Written for clang --target=bpfel -mcpu=v2 and converted by onchain/sbpf (no libc, no
 * writable globals, at most 5 arguments per function). */
#pragma once

typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
typedef signed long long int64_t;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)

typedef struct { uint8_t x[32]; } SolPubkey;

typedef struct {
  SolPubkey *key;
  uint64_t *lamports;
  uint64_t data_len;
  uint8_t *data;
  SolPubkey *owner;
  uint64_t rent_epoch;
  bool is_signer;
  bool is_writable;
  bool executable;
} SolAccountInfo;

typedef struct { SolPubkey *pubkey; bool is_writable; bool is_signer; } SolAccountMeta;
typedef struct {
  const SolPubkey *program_id;
  SolAccountMeta *accounts;
  uint64_t account_len;
  const uint8_t *data;
  uint64_t data_len;
} SolInstruction;
typedef struct { const uint8_t *addr; uint64_t len; } SolSignerSeed;
typedef struct { const SolSignerSeed *addr; uint64_t len; } SolSignerSeeds;
typedef struct { const uint8_t *addr; uint64_t len; } SolBytes;

typedef struct {
  uint64_t slot;
  int64_t epoch_start_timestamp;
  uint64_t epoch;
  uint64_t leader_schedule_epoch;
  int64_t unix_timestamp;
} SolClock;

typedef struct {
  uint64_t lamports_per_byte_year;
  uint64_t exemption_threshold_bits; /* an f64; we only accept 2.0 */
  uint8_t burn_percent;
} SolRent;

extern void sol_log_(const char *message, uint64_t length);
extern void sol_log_data(const SolBytes *slices, uint64_t count);
extern uint64_t sol_invoke_signed_c(const SolInstruction *instruction, const SolAccountInfo *accounts,
                                    int account_count, const SolSignerSeeds *signers, int signer_count);
extern uint64_t sol_try_find_program_address(const SolSignerSeed *seeds, int seed_count, const SolPubkey *program_id,
                                             SolPubkey *address, uint8_t *bump);
extern uint64_t sol_create_program_address(const SolSignerSeed *seeds, int seed_count, const SolPubkey *program_id,
                                           SolPubkey *address);
extern uint64_t sol_get_clock_sysvar(SolClock *clock);
extern uint64_t sol_get_rent_sysvar(SolRent *rent);

#define SOL_MAX_ACCOUNTS 128
#define SOL_MAX_PERMITTED_DATA_INCREASE (10 * 1024)
/* The runtime's 32 KiB heap: our only writable scratch memory besides the stack. */
#define SOL_HEAP_START 0x300000000ULL

typedef struct {
  SolAccountInfo *accounts;
  uint64_t account_count;
  const uint8_t *data;
  uint64_t data_len;
  const SolPubkey *program_id;
} SolParameters;

/* Parse the loader's aligned input serialization into `params`; false if too many accounts. */
static bool sol_deserialize(const uint8_t *input, SolParameters *params) {
  uint64_t count = *(const uint64_t *)input;
  input += 8;
  if (count > SOL_MAX_ACCOUNTS) return false;
  SolAccountInfo *accounts = (SolAccountInfo *)SOL_HEAP_START;
  for (uint64_t i = 0; i < count; i++) {
    uint8_t duplicate_of = *input++;
    if (duplicate_of == 0xff) {
      accounts[i].is_signer = *input++;
      accounts[i].is_writable = *input++;
      accounts[i].executable = *input++;
      input += 4;
      accounts[i].key = (SolPubkey *)input;
      input += 32;
      accounts[i].owner = (SolPubkey *)input;
      input += 32;
      accounts[i].lamports = (uint64_t *)input;
      input += 8;
      accounts[i].data_len = *(const uint64_t *)input;
      input += 8;
      accounts[i].data = (uint8_t *)input;
      input += accounts[i].data_len + SOL_MAX_PERMITTED_DATA_INCREASE;
      input = (const uint8_t *)(((uint64_t)input + 7) & ~7ULL);
      accounts[i].rent_epoch = *(const uint64_t *)input;
      input += 8;
    } else {
      accounts[i] = accounts[duplicate_of];
      input += 7;
    }
  }
  params->accounts = accounts;
  params->account_count = count;
  params->data_len = *(const uint64_t *)input;
  input += 8;
  params->data = input;
  input += params->data_len;
  params->program_id = (const SolPubkey *)input;
  return true;
}

static bool pubkey_eq(const SolPubkey *a, const SolPubkey *b) {
  uint8_t difference = 0;
  for (int i = 0; i < 32; i++) difference |= a->x[i] ^ b->x[i];
  return difference == 0;
}

static bool pubkey_is_zero(const SolPubkey *a) {
  uint8_t bits = 0;
  for (int i = 0; i < 32; i++) bits |= a->x[i];
  return bits == 0;
}

static void copy_bytes(uint8_t *destination, const uint8_t *source, uint64_t length) {
  for (uint64_t i = 0; i < length; i++) destination[i] = source[i];
}

static void zero_bytes(uint8_t *destination, uint64_t length) {
  for (uint64_t i = 0; i < length; i++) destination[i] = 0;
}
