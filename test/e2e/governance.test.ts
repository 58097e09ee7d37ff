// Foundation governance end to end on a devnet node with a 2-of-3 council, driven by the CLI as its
// signers would: a spend executes only after two approvals and the notice delay; early execution, a
// non-signer approval, a double approval, a cancelled proposal and spending from the reserve directly
// are each refused with a code; balances move exactly. Vesting is readable as a grant.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEVNET_COUNCIL_KEYS } from '../../src/devnet.js';
import { addressOf, bcr, fromHex, sha256, toChecksumAddress, toHex } from '../../src/primitives/index.js';
import { decodeHeader } from '../../src/chain/index.js';
import { stateProofFromJson, type StateProofJson } from '../../src/rpc/format.js';
import { ProposalState, decodeProposal, verifyStateProof } from '../../src/state/index.js';
import { DEV_KEY, tempDir, transferTx } from '../helpers/chain.js';
import { rawPost, rpc, runCli, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-gov-');
const keystore = join(dir.path, 'keystore');
const ENV = { BCR_PASSWORD: 'pw' };
let node: RunningNode;
const NOTICE = 24; // slots of 250 ms: long enough to try executing early, short enough to wait out

const DEV = toChecksumAddress(addressOf(DEV_KEY));
const [A, B, C] = DEVNET_COUNCIL_KEYS.map((k) => toChecksumAddress(addressOf(fromHex(k))));
const RECIPIENT = '0x000000000000000000000000000000000000bEEF';

beforeAll(async () => {
  // The test network's genesis with a longer notice delay, as a genesis file.
  const genesis = JSON.parse(readFileSync(new URL('../../genesis/test.json', import.meta.url), 'utf8')) as { governance: { noticeSlots: number } };
  genesis.governance.noticeSlots = NOTICE;
  const genesisFile = join(dir.path, 'genesis-gov.json');
  writeFileSync(genesisFile, JSON.stringify(genesis));
  node = await startNodeProcess(['--network', genesisFile, '--data-dir', join(dir.path, 'node'), '--rpc-port', '0']);
  for (const [i, key] of [toHex(DEV_KEY), ...DEVNET_COUNCIL_KEYS].entries()) {
    const file = join(dir.path, `key-${i}`);
    writeFileSync(file, key);
    expect((await runCli(['wallet', 'import', '--key-file', file, '--keystore', keystore, '--light-kdf'], ENV)).code).toBe(0);
  }
  // Council signers pay fees like anyone: fund them (one block's worth of transfers).
  const funding = [];
  for (const [nonce, signer] of [A, B, C].entries()) funding.push(await rpc<string>(node.rpcUrl, 'bcr_sendRawTransaction', [toHex(transferTx(DEV_KEY, nonce, fromHex(signer!), bcr(10), 2n))]));
  for (const tx of funding) await waitFor('a funding transfer', () => rpc(node.rpcUrl, 'bcr_getTransactionReceipt', [tx]), 30_000);
}, 120_000);

afterAll(async () => {
  if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

const gov = (args: string[]) => runCli(['gov', ...args, '--rpc', node.rpcUrl, ...(['list', 'show'].includes(args[0]!) ? [] : ['--keystore', keystore])], ENV);
async function govOk<T>(args: string[]): Promise<T> {
  const result = await gov([...args, '--json']);
  expect(result.code, `bcr gov ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout) as T;
}
/** Sent with --force past the CLI's own check: the chain refuses it with `code` (and takes the fee). */
async function refused(args: string[], code: string): Promise<void> {
  const result = await gov([...args, '--force']);
  expect(result.code, `bcr gov ${args.join(' ')} should fail with ${code}`).toBe(1);
  expect(result.stderr).toMatch(new RegExp(`failed in block \\d+: ${code}`));
}
const balance = async (address: string) => BigInt((await rpc<{ balance: string }>(node.rpcUrl, 'bcr_getBalance', [address])).balance);
const reserve = async () => BigInt((await rpc<{ reserveBalance: string }>(node.rpcUrl, 'bcr_getCouncil')).reserveBalance);

interface Proposal {
  id: string;
  state: string;
  approvals: string[];
  approvedSlot: number | null;
  executableFromSlot: number | null;
}

describe('foundation governance (2-of-3 council)', () => {
  it('spends from the reserve only after two approvals and the notice delay, refusing every shortcut', async () => {
    const council = await rpc<{ council: { signers: string[]; threshold: number; noticeSlots: number } }>(node.rpcUrl, 'bcr_getCouncil');
    expect(council.council).toEqual({ signers: [A, B, C], threshold: 2, noticeSlots: NOTICE });
    const reserveBefore = await reserve();
    expect(reserveBefore).toBe(bcr(35_000_000));

    // Every step streams over the governance subscription (all proposals: no filter).
    const steps: { step: string; proposal: string; status: string | null; error: string | null; removed: boolean }[] = [];
    const ws = new WebSocket(node.rpcUrl.replace('http', 'ws'));
    ws.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { method?: string; params?: { result: (typeof steps)[number] } };
      if (message.method === 'bcr_subscription') steps.push(message.params!.result);
    });
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
    const subscribed = new Promise<unknown>((resolve) => ws.once('message', (data: Buffer) => resolve(JSON.parse(data.toString()))));
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'bcr_subscribe', params: ['governance'] }));
    expect(await subscribed).toMatchObject({ result: expect.stringMatching(/^0x/) });

    const proposal = await govOk<Proposal & { tx: string }>(['propose', '--from', A!, '--to', RECIPIENT, '--amount', '1000', '--purpose', 'grant: storage client tooling']);
    expect(proposal).toMatchObject({ state: 'open', approvals: [A], approvedSlot: null });
    // Without --force the CLI checks first and sends nothing that would fail.
    const unapproved = await gov(['execute', proposal.id, '--from', DEV]);
    expect(unapproved.code).toBe(1);
    expect(unapproved.stderr).toMatch(/^error: not approved yet: 1 of 2 approvals; nothing was sent/);
    await refused(['execute', proposal.id, '--from', DEV], 'NOT_APPROVED');
    await refused(['approve', proposal.id, '--from', DEV], 'NOT_SIGNER');
    await refused(['approve', proposal.id, '--from', A!], 'ALREADY_APPROVED');
    const approved = await govOk<Proposal>(['approve', proposal.id, '--from', B!]);
    expect(approved.executableFromSlot).toBe(approved.approvedSlot! + NOTICE);
    // Executing now is refused, unless (on a busy machine) the tx only landed once the notice had run:
    // either way it never executes before its executable slot.
    const early = await gov(['execute', proposal.id, '--from', DEV, '--json', '--force']);
    let executed: Proposal & { closedSlot: number | null };
    if (early.code === 0) {
      executed = JSON.parse(early.stdout) as typeof executed;
      expect(executed.closedSlot!).toBeGreaterThanOrEqual(approved.executableFromSlot!);
    } else {
      expect(early.stderr).toMatch(/failed in block \d+: NOTICE_PENDING/);
      expect(await balance(RECIPIENT)).toBe(0n);
      // Once the notice has run, anyone executes (--wait-notice waits for it): exactly the amount moves.
      executed = await govOk<Proposal & { closedSlot: number | null }>(['execute', proposal.id, '--from', DEV, '--wait-notice']);
    }
    expect(executed.state).toBe('executed');
    expect(await balance(RECIPIENT)).toBe(bcr(1000));
    expect(await reserve()).toBe(reserveBefore - bcr(1000));
    await refused(['execute', proposal.id, '--from', DEV], 'PROPOSAL_CLOSED');
    // The subscription saw each step of this proposal in chain order, the refused ones with their code.
    await waitFor('the last step streamed', async () => steps.some((e) => e.proposal === proposal.id && e.error === 'PROPOSAL_CLOSED'), 20_000);
    const mine = steps.filter((e) => e.proposal === proposal.id && !e.removed);
    expect(mine.filter((e) => e.status === 'ok').map((e) => e.step)).toEqual(['propose', 'approve', 'execute']);
    expect(mine.filter((e) => e.status === 'failed').map((e) => e.error)).toEqual(expect.arrayContaining(['NOT_APPROVED', 'NOT_SIGNER', 'ALREADY_APPROVED', 'PROPOSAL_CLOSED']));
    if (early.code !== 0) expect(mine.some((e) => e.error === 'NOTICE_PENDING')).toBe(true);
    ws.close();

    // A cancelled proposal never executes.
    const second = await govOk<Proposal>(['propose', '--from', C!, '--to', RECIPIENT, '--amount', '5', '--purpose', 'withdrawn']);
    expect((await govOk<Proposal>(['cancel', second.id, '--from', C!])).state).toBe('cancelled');
    const closed = await gov(['approve', second.id, '--from', A!]);
    expect(closed.stderr).toMatch(/^error: the proposal is cancelled \(slot \d+\); nothing was sent/);
    await refused(['approve', second.id, '--from', A!], 'PROPOSAL_CLOSED');
    await refused(['execute', second.id, '--from', DEV], 'PROPOSAL_CLOSED');

    // The reserve cannot be spent any other way: no key signs for it, node-side signing refuses it.
    const reserveAddress = (await rpc<{ reserve: string }>(node.rpcUrl, 'bcr_getCouncil')).reserve;
    const token = (await runCli(['auth', 'create-token', '--perm', 'sign', '--data-dir', join(dir.path, 'node')])).stdout.trim();
    const direct = JSON.parse((await rawPost(node.rpcUrl, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'bcr_sendTransaction', params: [reserveAddress, RECIPIENT, '1'] }), { authorization: `Bearer ${token}` })).text);
    expect(direct.error).toMatchObject({ data: { code: 'GOVERNED_FUNDS' } });
    const walletSend = await runCli(['wallet', 'send', '--from', reserveAddress, '--to', RECIPIENT, '--amount', '1', '--rpc', node.rpcUrl, '--keystore', keystore], ENV);
    expect(walletSend.code).toBe(1);
    expect(await reserve()).toBe(reserveBefore - bcr(1000));

    // Every step is readable.
    const list = await govOk<{ total: number; proposals: Proposal[] }>(['list']);
    expect(list.total).toBe(2);
    expect(list.proposals.map((p) => [p.id, p.state])).toEqual([[second.id, 'cancelled'], [proposal.id, 'executed']]);
    const shown = await gov(['show', proposal.id]);
    expect(shown.stdout).toMatch(/spend 1000 BCR to 0x000000000000000000000000000000000000bEEF/);

    // A light client checks the executed proposal and the recipient's account against a header.
    const proven = await rpc<{ state: string; header: string; blockId: string; proofs: StateProofJson[] }>(node.rpcUrl, 'bcr_getProposal', [proposal.id, 'latest', true]);
    const header = decodeHeader(fromHex(proven.header));
    expect(toHex(sha256(fromHex(proven.header)))).toBe(proven.blockId);
    expect(proven.proofs.map(stateProofFromJson).every((p) => verifyStateProof(header.stateRoot, p))).toBe(true);
    expect(decodeProposal(fromHex(proven.proofs[0]!.value!)).state).toBe(ProposalState.executed);
    const account = await rpc<StateProofJson & { header: string }>(node.rpcUrl, 'bcr_getProof', [RECIPIENT, 'finalized']);
    const finalHeader = decodeHeader(fromHex(account.header));
    expect(verifyStateProof(finalHeader.stateRoot, stateProofFromJson(account))).toBe(true);
  }, 180_000);

  it('shows a vesting grant: total, vested, locked, cliff, end and the next unlock', async () => {
    const team = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
    const shown = await runCli(['vesting', 'show', team, '--rpc', node.rpcUrl, '--json']);
    expect(shown.code).toBe(0);
    const v = JSON.parse(shown.stdout) as { slot: number; vesting: { total: string; vested: string; locked: string; cliffSlot: number; endSlot: number }; nextUnlock: { slot: number; amount: string } | null; spendable: string; balance: string };
    expect(BigInt(v.vesting.total)).toBe(bcr(12_000_000));
    expect(BigInt(v.vesting.vested) + BigInt(v.vesting.locked)).toBe(bcr(12_000_000));
    expect(BigInt(v.spendable)).toBe(BigInt(v.balance) - BigInt(v.vesting.locked));
    if (v.slot < v.vesting.cliffSlot) expect(v.nextUnlock!.slot).toBe(v.vesting.cliffSlot);
    const human = await runCli(['vesting', 'show', team, '--rpc', node.rpcUrl]);
    expect(human.stdout).toMatch(/grant 12000000 BCR: vested/);
    expect((await runCli(['vesting', 'show', DEV, '--rpc', node.rpcUrl])).stdout).toMatch(/no vesting grant/);
  });
});
