// Foundation governance from the CLI: council signers propose spends (or a new council), approve and
// cancel; anyone executes once the notice delay has run; everyone can list and show proposals.
import type { Command } from 'commander';
import { formatBcr, fromHex, parseAddress, parseBcr, sha256 } from '../../primitives/index.js';
import { ProposalAction, govApproveKind, govCancelKind, govExecuteKind, govProposeKind, proposalRefPayload, proposePayload } from '../../state/index.js';
import { readFileSync } from 'node:fs';
import { UsageError, parseIntOption, printJson } from '../io.js';
import { DEFAULT_RPC_URL, callRpc } from '../../client/rpc.js';
import { sendAndConfirm, unlockSender, withSignerOptions, type SenderOptions } from '../txSender.js';

interface ProposalJson {
  id: string;
  seq: number;
  state: string;
  action: 'spend' | 'council';
  proposer: string;
  recipient: string | null;
  amount: string;
  council: { signers: string[]; threshold: number; noticeSlots: number } | null;
  purpose: string;
  docHash: string | null;
  approvals: string[];
  approvalsCounted: number;
  threshold: number | null;
  cancelVotes: string[];
  approvedSlot: number | null;
  executableFromSlot: number | null;
  closedSlot: number | null;
}

function proposalId(text: string): Uint8Array {
  if (!/^0x[0-9a-fA-F]{64}$/.test(text)) throw new UsageError(`a proposal id is the 0x-hex id of its propose tx (32 bytes), got "${text}"`);
  return fromHex(text);
}

/** Why `action` on the proposal would fail if sent now (in a block after `headSlot`), or null. */
export function refusal(action: 'approve' | 'cancel' | 'execute', p: ProposalJson | null, from: string, headSlot: number): string | null {
  if (!p) return 'no such proposal';
  if (p.state !== 'open') return `the proposal is ${p.state} (slot ${p.closedSlot})`;
  if (action === 'approve' && p.approvals.some((a) => a.toLowerCase() === from.toLowerCase())) return `${from} has already approved it`;
  if (action !== 'execute') return null;
  if (p.executableFromSlot === null) return `not approved yet: ${p.approvalsCounted} of ${p.threshold} approvals`;
  const wait = p.executableFromSlot - (headSlot + 1);
  return wait > 0 ? `the notice runs until slot ${p.executableFromSlot}: executable in ${wait} slots (the head is at slot ${headSlot})` : null;
}

function describe(p: ProposalJson): string {
  const what = p.action === 'spend' ? `spend ${formatBcr(BigInt(p.amount))} BCR to ${p.recipient}` : `new council: ${p.council!.signers.join(', ')} (${p.council!.threshold} of ${p.council!.signers.length}, notice ${p.council!.noticeSlots} slots)`;
  const when = p.state !== 'open' ? `${p.state} at slot ${p.closedSlot}` : p.executableFromSlot !== null ? `approved; executable from slot ${p.executableFromSlot}` : `open, ${p.approvalsCounted} of ${p.threshold} approvals`;
  return `proposal ${p.id} (#${p.seq}) by ${p.proposer}: ${what}\n  purpose: ${p.purpose || '(none)'}${p.docHash ? `\n  document: ${p.docHash}` : ''}\n  ${when}; approvals: ${p.approvals.join(', ')}${p.cancelVotes.length ? `; cancel votes: ${p.cancelVotes.join(', ')}` : ''}`;
}

export function registerGov(program: Command): void {
  const gov = program.command('gov').description('foundation governance: the reserve moves only by council proposals, after approvals and a public notice delay');

  withSignerOptions(gov.command('propose').description('propose a spend from the reserve (--to, --amount) or a new council (--signers, --threshold, --notice); council signers only'))
    .option('--to <address>', 'spend: the recipient')
    .option('--amount <bcr>', 'spend: the amount in BCR')
    .option('--signers <addresses>', 'council change: comma-separated signer addresses')
    .option('--threshold <n>', 'council change: approvals needed')
    .option('--notice <slots>', 'council change: the notice delay in slots')
    .requiredOption('--purpose <text>', 'what the resolution is for (public, at most 256 bytes)')
    .option('--doc <file>', 'a document the resolution refers to: its SHA-256 is recorded')
    .action(async (opts: SenderOptions & { from: string; to?: string; amount?: string; signers?: string; threshold?: string; notice?: string; purpose: string; doc?: string; json?: boolean }) => {
      const spend = opts.to !== undefined || opts.amount !== undefined;
      const council = opts.signers !== undefined || opts.threshold !== undefined || opts.notice !== undefined;
      if (spend === council) throw new UsageError('propose either a spend (--to and --amount) or a council (--signers, --threshold, --notice)');
      if (spend && (!opts.to || !opts.amount)) throw new UsageError('a spend needs --to and --amount');
      if (council && (!opts.signers || !opts.threshold || !opts.notice)) throw new UsageError('a council change needs --signers, --threshold and --notice');
      const sender = await unlockSender(opts, opts.from);
      const payload = {
        action: spend ? ProposalAction.spend : ProposalAction.council,
        recipient: spend ? parseAddress(opts.to!) : new Uint8Array(20),
        amount: spend ? parseBcr(opts.amount!) : 0n,
        council: council ? { signers: opts.signers!.split(',').map((a) => parseAddress(a.trim())), threshold: parseIntOption(opts.threshold!, '--threshold'), noticeSlots: parseIntOption(opts.notice!, '--notice') } : null,
        purpose: opts.purpose,
        docHash: opts.doc ? sha256(readFileSync(opts.doc)) : null,
      };
      if (new TextEncoder().encode(payload.purpose).length > 256) throw new UsageError('--purpose is at most 256 bytes');
      const { id, receipt } = await sendAndConfirm(opts.rpc, sender, govProposeKind, proposePayload, payload);
      const proposal = await callRpc<ProposalJson>(opts.rpc, 'bcr_getProposal', [id]);
      if (opts.json) return printJson({ tx: id, height: receipt.height, ...proposal });
      console.log(describe(proposal));
    });

  for (const [name, kind, description] of [
    ['approve', govApproveKind, 'approve a proposal (council signers)'],
    ['cancel', govCancelKind, 'cancel a proposal: the proposer alone, or a threshold of signers voting'],
    ['execute', govExecuteKind, 'execute an approved proposal once its notice delay has run (anyone)'],
  ] as const) {
    const command = withSignerOptions(gov.command(name).description(description))
      .argument('<proposal>', 'the proposal id (its propose tx id)')
      .option('--force', 'send even when the chain will refuse it (the fee is paid)');
    if (name === 'execute') command.option('--wait-notice', 'if the notice is still running, wait until it has run, then send');
    command.action(async (idText: string, opts: SenderOptions & { from: string; json?: boolean; force?: boolean; waitNotice?: boolean }) => {
        const id = proposalId(idText);
        // A tx bound to fail still pays its fee: what the chain would refuse is refused here first.
        const check = async () => {
          const [current, { slot }] = await Promise.all([callRpc<ProposalJson | null>(opts.rpc, 'bcr_getProposal', [idText]).catch(() => null), callRpc<{ slot: number }>(opts.rpc, 'bcr_chainHead')]);
          return { current, problem: refusal(name, current, opts.from, slot) };
        };
        const inNotice = (p: ProposalJson | null) => p !== null && p.state === 'open' && p.executableFromSlot !== null;
        let { current, problem } = await check();
        if (opts.waitNotice && problem && inNotice(current)) {
          process.stderr.write(`${problem}: waiting\n`);
          while (problem && inNotice(current)) {
            await new Promise((r) => setTimeout(r, 500));
            ({ current, problem } = await check());
          }
        }
        if (problem && !opts.force) throw new UsageError(`${problem}; nothing was sent (--force sends it anyway, and pays its fee)`);
        const sender = await unlockSender(opts, opts.from);
        const { id: tx, receipt } = await sendAndConfirm(opts.rpc, sender, kind, proposalRefPayload, { proposal: id });
        const proposal = await callRpc<ProposalJson>(opts.rpc, 'bcr_getProposal', [idText]);
        if (opts.json) return printJson({ tx, height: receipt.height, ...proposal });
        console.log(describe(proposal));
      });
  }

  gov
    .command('list')
    .description('proposals, newest first')
    .option('--state <state>', 'open, executed or cancelled')
    .option('--limit <n>', 'at most this many', '20')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--json', 'machine-readable output')
    .action(async (opts: { state?: string; limit: string; rpc: string; json?: boolean }) => {
      const council = await callRpc<{ council: { signers: string[]; threshold: number; noticeSlots: number } | null; reserveBalance: string }>(opts.rpc, 'bcr_getCouncil');
      const list = await callRpc<{ total: number; proposals: ProposalJson[] }>(opts.rpc, 'bcr_listProposals', [opts.state ?? null, null, parseIntOption(opts.limit, '--limit')]);
      if (opts.json) return printJson({ ...council, ...list });
      if (council.council) console.log(`council: ${council.council.signers.join(', ')}; ${council.council.threshold} of ${council.council.signers.length}; notice ${council.council.noticeSlots} slots; reserve ${formatBcr(BigInt(council.reserveBalance))} BCR`);
      else console.log('this chain has no council: the reserve is frozen');
      if (list.proposals.length === 0) console.log('no proposals');
      for (const p of list.proposals) console.log(describe(p));
    });

  gov
    .command('show')
    .description('one proposal')
    .argument('<proposal>', 'the proposal id')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { rpc: string; json?: boolean }) => {
      proposalId(idText);
      const proposal = await callRpc<ProposalJson>(opts.rpc, 'bcr_getProposal', [idText]);
      if (opts.json) return printJson(proposal);
      console.log(describe(proposal));
    });
}
