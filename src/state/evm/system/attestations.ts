// Attestations to contracts: read records, and record one whose attester is the calling contract
// (provenance written by a contract, not only by a key).
import { concatBytes, fromHex, sha256, toHex, uintToBytesBE, utf8 } from '../../../primitives/index.js';
import { attestationCountOf, getAttestation, MAX_META_BYTES, MAX_TAG_BYTES, recordAttestation } from '../../attestations.js';
import { TxFailure } from '../../errors.js';
import { ATTESTATIONS_ABI, SYSTEM_ADDRESSES } from './abis.js';
import { READ_GAS, ZERO_ADDRESS, ZERO_HASH, type SystemContract } from './precompile.js';


export const attestationsContract: SystemContract = {
  address: SYSTEM_ADDRESSES.attestations,
  abi: ATTESTATIONS_ABI,
  functions: {
    attest: {
      gas: (args) => 50_000 + 16 * ((args[3] as string).length / 2 - 1),
      writes: true,
      async run(call, [hash, tag, ref, meta]) {
        const hashBytes = fromHex(hash as string);
        const tagText = tag as string;
        const metaBytes = fromHex(meta as string);
        if (utf8(tagText).length > MAX_TAG_BYTES) throw new TxFailure('TAG_TOO_LONG', `a tag is at most ${MAX_TAG_BYTES} bytes`);
        if (metaBytes.length > MAX_META_BYTES) throw new TxFailure('META_TOO_LONG', `meta is at most ${MAX_META_BYTES} bytes`);
        // The n-th attestation of a hash is unique: its id needs no tx id.
        const id = sha256(concatBytes(utf8('bcr/evm-attestation'), hashBytes, uintToBytesBE(await attestationCountOf(call.state, hashBytes), 8)));
        const refBytes = (ref as string) === ZERO_HASH ? null : fromHex(ref as string);
        await recordAttestation(call.state, id, { hash: hashBytes, tag: tagText, ref: refBytes, meta: metaBytes, attester: call.caller, height: call.height, slot: call.slot });
        return toHex(id);
      },
    },
    getAttestation: {
      gas: READ_GAS,
      async run(call, [id]) {
        const record = await getAttestation(call.state, fromHex(id as string));
        if (!record) return { exists: false, hash: ZERO_HASH, tag: '', ref: ZERO_HASH, meta: '0x', attester: ZERO_ADDRESS, height: 0n };
        return { exists: true, hash: toHex(record.hash), tag: record.tag, ref: record.ref ? toHex(record.ref) : ZERO_HASH, meta: toHex(record.meta), attester: toHex(record.attester), height: BigInt(record.height) };
      },
    },
    countOf: { gas: READ_GAS, run: async (call, [hash]) => BigInt(await attestationCountOf(call.state, fromHex(hash as string))) },
  },
};
