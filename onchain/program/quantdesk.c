/* QuantDesk on-chain program: custody and settlement. One translation unit (unity build) so
 * clang emits a single .text; dispatch on the Anchor discriminator (first 8 bytes of data). */
#include "solana.h"
#include "quantdesk_interface.h"
#include "admin.c"
#include "users.c"
#include "settlement.c"
#include "escape.c"

typedef struct __attribute__((packed)) { uint64_t value; } packed_u64;

uint64_t entrypoint(const uint8_t *input) {
  SolParameters params;
  if (!sol_deserialize(input, &params)) return QD_ERR_TOO_MANY_ACCOUNTS;
  if (params.data_len < 8) return QD_ERR_UNKNOWN_INSTRUCTION;
  uint64_t discriminator = ((const packed_u64 *)params.data)->value;
  const uint8_t *args = params.data + 8;
  uint64_t args_len = params.data_len - 8;
  switch (discriminator) {
    case QD_IX_INITIALIZE_EXCHANGE: return initialize_exchange(&params, args, args_len);
    case QD_IX_INITIALIZE_TOKEN_VAULT: return initialize_token_vault(&params, args, args_len);
    case QD_IX_CREATE_USER_ACCOUNT: return create_user_account(&params, args, args_len);
    case QD_IX_DEPOSIT_TOKENS: return deposit_tokens(&params, args, args_len);
    case QD_IX_DEPOSIT_NATIVE_SOL: return deposit_native_sol(&params, args, args_len);
    case QD_IX_SETTLE_BATCH: return settle_batch(&params, args, args_len);
    case QD_IX_ESCAPE_WITHDRAW: return escape_withdraw(&params, args, args_len);
    default: return QD_ERR_UNKNOWN_INSTRUCTION;
  }
}
