"""The real deploy path: the committed binary deployed through loader-v3, then used."""

from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.solders import FeatureSet
from solders.transaction import Transaction

from onchain.build import BINARY
from onchain.client import QuantDeskClient
from onchain.deploy import LOADER_ID, plan_deploy

# LiteSVM's default feature set disables new loader-v3 deployments through this feature.
DISABLE_DEPLOYMENTS = Pubkey.from_string("EmhbpdVtZ2hWRGFWBDjn2i3SJD8Z36z4mpMcZJEnebnP")


def svm_allowing_deployments() -> LiteSVM:
    features = FeatureSet.all_enabled()
    features = FeatureSet({k: v for k, v in features.active.items() if k != DISABLE_DEPLOYMENTS},
                          set(features.inactive) | {DISABLE_DEPLOYMENTS})
    return LiteSVM.default().with_builtins(features).with_sysvars().with_spl_programs().with_precompiles(
        features).with_lamports(10**18).with_sigverify(True).with_blockhash_check(True)


def test_program_deploys_through_the_upgradeable_loader_and_runs():
    svm = svm_allowing_deployments()
    payer, buffer, program = Keypair(), Keypair(), Keypair()
    svm.airdrop(payer.pubkey(), 100_000_000_000)

    def send(instructions, *signers):
        result = svm.send_transaction(Transaction([payer, *signers], Message(instructions, payer.pubkey()),
                                                  svm.latest_blockhash()))
        assert hasattr(result, "logs"), result
        return result

    # Buffer, chunked writes, then DeployWithMaxDataLen
    plan = plan_deploy(payer.pubkey(), buffer.pubkey(), program.pubkey(), BINARY.read_bytes(),
                       svm.minimum_balance_for_rent_exemption)
    send(plan.create_buffer, buffer)
    for write in plan.writes:
        send(write)
    send(plan.deploy, program)
    assert svm.get_account(program.pubkey()).owner == LOADER_ID
    assert svm.get_account(plan.programdata).owner == LOADER_ID
    # Deployed code becomes visible in the next slot; then the exchange can be initialized there
    svm.warp_to_slot(svm.get_clock().slot + 1)
    client = QuantDeskClient(program.pubkey())
    mint = Keypair().pubkey()
    result = send([client.initialize_exchange(payer.pubkey(), payer.pubkey(), [mint], 60)])
    assert any("success" in line for line in result.logs())
    assert svm.get_account(client.exchange_address()).owner == program.pubkey()
