// Attestations from the CLI: record a file's SHA-256 with a tag (and a reference to an earlier
// record), show every record of a file or hash with the chain of references behind it, and verify
// them against a block header the user trusts, without trusting the node that answers.
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { decodeHeader } from '../../chain/index.js';
import { bytesEqual, fromHex, sha256, toChecksumAddress, toHex, utf8 } from '../../primitives/index.js';
import { stateProofFromJson, type StateProofJson } from '../../rpc/format.js';
import { attestKind, attestPayload, verifyAttestationPage } from '../../state/index.js';
import { UsageError, parseIntOption, printJson } from '../io.js';
import { DEFAULT_RPC_URL, callRpc } from '../../client/rpc.js';
import { sendAndConfirm, unlockSender, withSenderOptions, type SenderOptions } from '../txSender.js';

/** Records per RPC call (the node's most). */
/** How long verify waits for a node that is behind the trusted block. */
const CATCH_UP_MS = 30_000;
const PAGE = 100;
/** Headers `verify` links at most (about 80 MB): beyond, take a newer trusted header. */
const MAX_LINK_HEADERS = 200_000;

interface AttestationJson {
  id: string;
  hash: string;
  tag: string;
  ref: string | null;
  meta: string;
  metaText: string | null;
  attester: string;
  height: number;
  slot: number;
  time: number;
}

/** A content hash from a file (its SHA-256) or given as 0x-hex. */
function contentHash(fileOrHash: string): Uint8Array {
  if (/^0x[0-9a-fA-F]{64}$/.test(fileOrHash) && !existsSync(fileOrHash)) return fromHex(fileOrHash);
  if (!existsSync(fileOrHash)) throw new UsageError(`no file ${fileOrHash} (give a file, or a 0x-hex SHA-256)`);
  return sha256(readFileSync(fileOrHash));
}

function line(a: AttestationJson): string {
  return `${a.id}  ${a.tag}  by ${a.attester}  block ${a.height}  ${new Date(a.time).toISOString()}${a.metaText ? `  "${a.metaText}"` : ''}${a.ref ? `  ref ${a.ref}` : ''}`;
}

export function registerAttest(program: Command): void {
  const attest = program.command('attest').description("record a content hash on chain as evidence (provenance, traceability), look records up, verify them against a trusted header");

  withSenderOptions(attest.command('record', { isDefault: true }).description('record a file\'s SHA-256 with a tag (bcr attest FILE --tag TAG ... does the same)'))
    .argument('<file>', 'the file (its SHA-256 is recorded, not its content), or a 0x-hex SHA-256')
    .requiredOption('--tag <tag>', 'what kind of record this is (a schema or kind, at most 64 bytes)')
    .requiredOption('--from <address>', 'the attester (its key must be in the keystore)')
    .option('--ref <id>', 'an earlier attestation this one follows (a provenance chain)')
    .option('--meta <text>', 'small metadata (at most 256 bytes)')
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: SenderOptions & { tag: string; from: string; ref?: string; meta?: string; json?: boolean }) => {
      const hash = contentHash(file);
      if (opts.ref !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(opts.ref)) throw new UsageError('--ref is an attestation id: 0x and 64 hex digits');
      const meta = utf8(opts.meta ?? '');
      if (meta.length > 256) throw new UsageError('--meta is at most 256 bytes');
      if (utf8(opts.tag).length > 64 || opts.tag.length === 0) throw new UsageError('--tag is 1 to 64 bytes');
      const sender = await unlockSender(opts, opts.from);
      const { id, receipt } = await sendAndConfirm(opts.rpc, sender, attestKind, attestPayload, { hash, tag: opts.tag, ref: opts.ref ? fromHex(opts.ref) : null, meta });
      if (opts.json) return printJson({ id, hash: toHex(hash), height: receipt.height });
      console.log(`attested ${toHex(hash)} as ${opts.tag} in block ${receipt.height}: attestation ${id}`);
    });

  attest
    .command('show')
    .description('every record of a file or hash, oldest first, each with the chain of records it refers to')
    .argument('<fileOrHash>', 'a file or a 0x-hex SHA-256')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--json', 'machine-readable output')
    .action(async (fileOrHash: string, opts: { rpc: string; json?: boolean }) => {
      const hash = toHex(contentHash(fileOrHash));
      // Page by page (the node answers at most 100 per call), all of them.
      const attestations: AttestationJson[] = [];
      for (let from = 0; ; ) {
        const page = await callRpc<{ total: number; attestations: AttestationJson[] }>(opts.rpc, 'bcr_getAttestations', [hash, 'latest', false, from, PAGE]);
        attestations.push(...page.attestations);
        from += page.attestations.length;
        if (page.attestations.length === 0 || from >= page.total) break;
      }
      // Follow each record's references back (they may name records of other hashes).
      const chains: AttestationJson[][] = [];
      for (const record of attestations) {
        const chain: AttestationJson[] = [];
        for (let ref = record.ref; ref !== null && chain.length < 64; ) {
          const earlier = await callRpc<AttestationJson>(opts.rpc, 'bcr_getAttestation', [ref]);
          chain.push(earlier);
          ref = earlier.ref;
        }
        chains.push(chain);
      }
      if (opts.json) return printJson({ hash, attestations: attestations.map((a, i) => ({ ...a, refChain: chains[i] })) });
      if (attestations.length === 0) return console.log(`no attestations of ${hash}`);
      console.log(`${attestations.length} attestation(s) of ${hash}:`);
      attestations.forEach((a, i) => {
        console.log(`${i + 1}. ${line(a)}`);
        for (const earlier of chains[i]!) console.log(`     <- ${line(earlier)}`);
      });
    });

  attest
    .command('verify')
    .description("check a file's records against a block header you trust: the node's answer is verified, not believed")
    .argument('<fileOrHash>', 'a file or a 0x-hex SHA-256')
    .requiredOption('--trusted-header <height:id>', 'a block you trust, as HEIGHT:0xID (from the finalized block of nodes you trust; however old: a block the node holds no state for is linked by headers to its finalized block)')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--json', 'machine-readable output')
    .action(async (fileOrHash: string, opts: { trustedHeader: string; rpc: string; json?: boolean }) => {
      const match = /^(\d+):(0x[0-9a-fA-F]{64})$/.exec(opts.trustedHeader);
      if (!match) throw new UsageError('--trusted-header is HEIGHT:0xID (the block id is 32 bytes of hex)');
      const height = parseIntOption(match[1]!, '--trusted-header height');
      const trustedId = fromHex(match[2]!);
      const hash = contentHash(fileOrHash);
      const fail = (reason: string): never => {
        throw new UsageError(`NOT VERIFIED: ${reason}`);
      };
      // A trusted block the node no longer holds state for (below its finalized block): prove at the
      // finalized block and link it to the trusted one by the headers between, each naming the hash of
      // the one before. (Headers only: about 400 bytes a block.)
      // The node's finalized block may move on while we read (it keeps state only from there): if
      // the block we prove at falls below it meanwhile, start again from the new one.
      const proveOnce = async () => {
        const head = await callRpc<{ height: number; finalizedHeight: number }>(opts.rpc, 'bcr_chainHead');
        let provenAt = height;
        let provenId = trustedId;
        let linked = 0;
        if (height < head.finalizedHeight) {
          provenAt = head.finalizedHeight;
          if (provenAt - height > MAX_LINK_HEADERS) fail(`block ${height} is ${provenAt - height} blocks below the node's finalized block: more than the ${MAX_LINK_HEADERS} headers this client links; take a newer trusted header`);
          let previous = trustedId;
          for (let from = height; from <= provenAt; ) {
            const { headers } = await callRpc<{ headers: string[] }>(opts.rpc, 'bcr_getHeaders', [from, Math.min(1024, provenAt - from + 1)]);
            if (headers.length === 0) fail(`the node sent no header at height ${from}`);
            for (const hex of headers) {
              const bytes = fromHex(hex);
              let header;
              try {
                header = decodeHeader(bytes);
              } catch (error) {
                return fail(`the header at height ${from} does not decode: ${error instanceof Error ? error.message : String(error)}`);
              }
              if (header.height !== from) fail(`the header sent for height ${from} is at height ${header.height}`);
              const id = sha256(bytes);
              if (from === height) {
                if (!bytesEqual(id, trustedId)) fail(`the node's header for height ${height} is not block ${match[2]}`);
              } else if (!bytesEqual(header.parentId, previous)) fail(`the header at height ${from} does not link to the one before (its parent is not ${toHex(previous)})`);
              previous = id;
              from++;
            }
          }
          provenId = previous;
          linked = provenAt - height;
        }
        // Page by page; each page proven on its own against the same block.
        const records: ReturnType<typeof verifyAttestationPage>['records'] = [];
        let stateRoot: Uint8Array | null = null;
        for (let from = 0; ; ) {
          const answer = await callRpc<{ header: string; proofs: StateProofJson[] }>(opts.rpc, 'bcr_getAttestations', [toHex(hash), provenAt, true, from, PAGE]);
          // 1. The header the node sent must be the one trusted (or linked to it): its hash is the block id.
          const headerBytes = fromHex(answer.header);
          if (!bytesEqual(sha256(headerBytes), provenId)) fail(`the node's header for height ${provenAt} is not block ${toHex(provenId)}`);
          const header = decodeHeader(headerBytes);
          if (header.height !== provenAt) fail(`the header is at height ${header.height}, not ${provenAt}`);
          stateRoot = header.stateRoot;
          // 2. The page's records, and how many there are in all, proven against that header's state root.
          let page: ReturnType<typeof verifyAttestationPage>;
          try {
            page = verifyAttestationPage(header.stateRoot, hash, answer.proofs.map(stateProofFromJson), { from, limit: PAGE });
          } catch (error) {
            return fail(error instanceof Error ? error.message : String(error));
          }
          records.push(...page.records);
          from += page.records.length;
          if (page.records.length === 0 || from >= page.total) break;
        }
        return { stateRoot: stateRoot!, provenAt, linked, records };
      };
      // A trusted block the node has not reached yet (it is a block or two behind the node you took it
      // from): give it a moment to catch up rather than failing.
      for (let waited = 0; (await callRpc<{ height: number }>(opts.rpc, 'bcr_chainHead')).height < height; waited += 250) {
        if (waited === 0) process.stderr.write(`the node is below block ${height}: waiting for it (up to ${CATCH_UP_MS / 1000} s)\n`);
        if (waited >= CATCH_UP_MS) fail(`the node did not reach block ${height} within ${CATCH_UP_MS / 1000} s (is it on the same chain, and syncing?)`);
        await new Promise((r) => setTimeout(r, 250));
      }
      let result: Awaited<ReturnType<typeof proveOnce>> | null = null;
      for (let attempt = 1; !result; attempt++) {
        try {
          result = await proveOnce();
        } catch (error) {
          if (!(attempt < 5 && error instanceof Error && /state is kept from the finalized block/.test(error.message))) throw error;
        }
      }
      const { provenAt, linked, records } = result;
      const header = { stateRoot: result.stateRoot };
      const out = records.map(({ id, record }) => ({ id: toHex(id), tag: record.tag, attester: toChecksumAddress(record.attester), height: record.height, slot: record.slot, ref: record.ref ? toHex(record.ref) : null }));
      if (opts.json) return printJson({ verified: true, hash: toHex(hash), height, provenAt, linkedHeaders: linked, stateRoot: toHex(header.stateRoot), attestations: out });
      const where = linked ? `linked by ${linked} header(s) to block ${provenAt}, state root ${toHex(header.stateRoot)}` : `state root ${toHex(header.stateRoot)}`;
      console.log(`VERIFIED against block ${height} (${match[2]}, ${where}): ${out.length} attestation(s) of ${toHex(hash)}`);
      for (const r of out) console.log(`  ${r.id}  ${r.tag}  by ${r.attester}  block ${r.height}${r.ref ? `  ref ${r.ref}` : ''}`);
    });
}
