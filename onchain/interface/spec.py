"""Declaration of the QuantDesk program's interface (Anchor-compatible, Borsh layout).

Types use Anchor IDL spellings: "u8", "u16", "u32", "u64", "i64", "publicKey",
("array", element, length), ("vec", "DefinedName"). Vectors may only be trailing arguments
(the C side reads them by hand). Account and event structs are packed in C, so Borsh and C agree
byte for byte. Error codes start at 6000 (Anchor's custom-error base) in declaration order.
"""

from dataclasses import dataclass

MAX_ASSETS = 4
PUBKEY = "publicKey"
HASH = ("array", "u8", 32)

SEED_EXCHANGE = b"exchange"
SEED_VAULT = b"vault"
SEED_VAULT_AUTHORITY = b"vault_authority"
SEED_USER = b"user"
TOKEN_PROGRAM_ID = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
NATIVE_MINT = "So11111111111111111111111111111111111111112"


@dataclass(frozen=True)
class AccountRef:
    name: str
    writable: bool = False
    signer: bool = False


@dataclass(frozen=True)
class Instruction:
    name: str
    accounts: tuple[AccountRef, ...]
    args: tuple[tuple[str, object], ...]
    doc: str


@dataclass(frozen=True)
class Struct:
    name: str
    fields: tuple[tuple[str, object], ...]


A = AccountRef

INSTRUCTIONS = (
    Instruction("initialize_exchange",
                (A("admin", True, True), A("settlement_authority"), A("exchange", True), A("vault_authority"),
                 A("system_program")),
                (("escape_timeout_seconds", "i64"), ("mints", ("vec", PUBKEY))),
                "Create the exchange PDA: admin, settlement authority, supported mints, escape timeout."),
    Instruction("initialize_token_vault",
                (A("admin", True, True), A("exchange", True), A("mint"), A("vault", True), A("vault_authority"),
                 A("token_program"), A("system_program")),
                (("asset_index", "u8"),),
                "Create the SPL token account PDA ['vault', mint] owned by the vault authority PDA."),
    Instruction("create_user_account",
                (A("owner", True, True), A("exchange"), A("user_account", True), A("system_program")),
                (("sub_account", "u8"),),
                "Create the user account PDA ['user', owner, sub_account]."),
    Instruction("deposit_tokens",
                (A("owner", False, True), A("exchange"), A("user_account", True), A("source", True),
                 A("vault", True), A("token_program")),
                (("asset_index", "u8"), ("amount", "u64")),
                "Transfer tokens from the owner's token account into the vault and credit the user."),
    Instruction("deposit_native_sol",
                (A("owner", True, True), A("exchange"), A("user_account", True), A("vault", True),
                 A("token_program"), A("system_program")),
                (("amount", "u64"),),
                "Transfer lamports into the wrapped-SOL vault, sync it, and credit the user."),
    Instruction("settle_batch",
                (A("authority", False, True), A("exchange", True), A("vault_authority"), A("token_program")),
                (("sequence", "u64"), ("previous_hash", HASH), ("log_hash", HASH),
                 ("deltas", ("vec", "Delta")), ("withdrawals", ("vec", "Withdrawal"))),
                "Apply a batch (sequence = last + 1); remaining accounts are user accounts, vaults and destinations."),
    Instruction("escape_withdraw",
                (A("owner", False, True), A("exchange", True), A("user_account", True), A("vault", True),
                 A("destination", True), A("vault_authority"), A("token_program")),
                (("asset_index", "u8"),),
                "After escape_timeout without a batch: freeze the exchange and pay out the settled balance."),
)

TYPES = (
    Struct("Delta", (("account_index", "u8"), ("asset_index", "u8"), ("amount", "i64"))),
    Struct("Withdrawal", (("account_index", "u8"), ("asset_index", "u8"), ("vault_index", "u8"),
                          ("destination_index", "u8"), ("amount", "u64"))),
)

ACCOUNTS = (
    Struct("Exchange", (
        ("admin", PUBKEY), ("settlement_authority", PUBKEY), ("mints", ("array", PUBKEY, MAX_ASSETS)),
        ("vaults", ("array", PUBKEY, MAX_ASSETS)), ("last_sequence", "u64"), ("last_settled_at", "i64"),
        ("escape_timeout_seconds", "i64"), ("log_hash", HASH), ("mint_count", "u8"), ("bump", "u8"),
        ("vault_authority_bump", "u8"), ("frozen", "u8"))),
    Struct("UserAccount", (
        ("owner", PUBKEY), ("balances", ("array", "u64", MAX_ASSETS)), ("deposited", ("array", "u64", MAX_ASSETS)),
        ("last_sequence", "u64"), ("sub_account", "u8"), ("bump", "u8"))),
)

EVENTS = (
    Struct("Deposited", (("owner", PUBKEY), ("user_account", PUBKEY), ("asset_index", "u8"), ("amount", "u64"),
                         ("deposited_total", "u64"), ("balance", "u64"))),
    Struct("BatchSettled", (("sequence", "u64"), ("previous_hash", HASH), ("log_hash", HASH),
                            ("delta_count", "u32"), ("withdrawal_count", "u32"))),
    Struct("Withdrawn", (("user_account", PUBKEY), ("asset_index", "u8"), ("amount", "u64"), ("sequence", "u64"))),
    Struct("EscapeWithdrawn", (("user_account", PUBKEY), ("asset_index", "u8"), ("amount", "u64"),
                               ("frozen_at", "i64"))),
)

ERRORS = (
    ("UnknownInstruction", "Instruction discriminator is not one of ours"),
    ("InstructionDataInvalid", "Instruction data is too short or has trailing bytes"),
    ("NotEnoughAccounts", "Fewer accounts than the instruction needs"),
    ("TooManyAccounts", "More accounts than the program can hold"),
    ("AdminMustSign", "The admin did not sign"),
    ("AuthorityMustSign", "The settlement authority did not sign"),
    ("OwnerMustSign", "The user account owner did not sign"),
    ("WrongAdmin", "Signer is not the exchange admin"),
    ("WrongAuthority", "Signer is not the settlement authority"),
    ("WrongOwner", "Signer does not own this user account"),
    ("ExchangeAddressMismatch", "Exchange account is not the program's exchange PDA"),
    ("ExchangeInvalid", "Exchange account is not owned by the program or has the wrong discriminator"),
    ("ExchangeAlreadyInitialized", "Exchange account already exists"),
    ("UserAccountAddressMismatch", "User account is not the PDA for owner and sub-account"),
    ("UserAccountInvalid", "User account is not owned by the program or has the wrong discriminator"),
    ("UserAccountAlreadyExists", "User account already exists"),
    ("VaultAddressMismatch", "Vault is not the exchange's vault for this asset"),
    ("VaultAlreadyInitialized", "Vault for this asset already exists"),
    ("VaultAuthorityMismatch", "Vault authority is not the program's vault authority PDA"),
    ("WrongTokenProgram", "Token program is not SPL Token"),
    ("WrongSystemProgram", "System program is not the system program"),
    ("InvalidMintList", "Mint list must hold 1 to 4 distinct mints"),
    ("AssetIndexOutOfRange", "Asset index is not a supported asset"),
    ("MintMismatch", "Mint account does not match the exchange's mint for this asset"),
    ("NotNativeMint", "The asset is not wrapped SOL"),
    ("DestinationInvalid", "Destination token account is not the owner's account for this mint"),
    ("ZeroAmount", "Amount must be positive"),
    ("ArithmeticOverflow", "Arithmetic overflow"),
    ("SequenceReplayed", "Batch sequence is not greater than the last settled sequence"),
    ("SequenceSkipped", "Batch sequence skips past last settled sequence + 1"),
    ("PreviousHashMismatch", "Batch previous hash is not the last settled log hash"),
    ("DeltasDoNotSumToZero", "Deltas of an asset do not sum to zero"),
    ("Overdraw", "Balance would become negative"),
    ("AccountIndexOutOfRange", "Batch entry names an account that was not passed"),
    ("AccountNotWritable", "An account that must be writable is not"),
    ("ExchangeFrozen", "The exchange is frozen by the escape hatch"),
    ("EscapeHatchNotOpen", "The escape timeout has not elapsed since the last batch"),
    ("NothingToWithdraw", "The settled balance is zero"),
    ("InvalidTimeout", "Escape timeout must be positive"),
    ("UnsupportedRent", "Rent exemption threshold is not the expected 2.0"),
)
ERROR_BASE = 6000

# Where the program is deployed by default (sha256(b"quantdesk-program") as a key); the binary
# itself reads its id from the runtime, so any address works.
PROGRAM_ID = "3pEPivWKwQU7vKaWFDX72vs5K8ys5jQQtyPxjyGEsrE8"
ERROR_CODES = {name: ERROR_BASE + index for index, (name, _message) in enumerate(ERRORS)}
