// The EVM under random code: random runtime bytecode (raw bytes, and sequences of real opcodes that
// reach deeper) called with random calldata and value on a copy of the head state. The EVM may
// succeed or fail the call; it must never throw.
import fc from 'fast-check';
import type { ChainStore } from '../../src/chain/index.js';
import { addressOf, sha256 } from '../../src/primitives/index.js';
import { SYSTEM_ADDRESSES, putCode, simulateCall } from '../../src/state/index.js';
import { DEV_KEY } from '../helpers/chain.js';
import { ACCEPTED, Crash, type FuzzTarget } from './targets.js';

/** Opcodes that do things (arithmetic, memory, storage, calls, logs, creation, returns). */
const OPCODES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x0a, 0x10, 0x14, 0x15, 0x16, 0x19, 0x1b, 0x20, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x80, 0x81, 0x90, 0x91, 0xa0, 0xa1, 0xa2, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xfa, 0xfd, 0xfe, 0xff];

const code = fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.array(fc.oneof(fc.constantFrom(...OPCODES), fc.integer({ min: 0, max: 255 })), { maxLength: 256 }).map((ops) => Uint8Array.from(ops)));

export function evmCodeTarget(chain: ChainStore): FuzzTarget {
  const systemTargets = Object.values(SYSTEM_ADDRESSES);
  return {
    name: 'evm: random runtime code and calldata, and random calls to the system contracts',
    arbitrary: fc.record({ code, data: fc.uint8Array({ maxLength: 256 }), value: fc.bigInt({ min: 0n, max: 10n ** 18n }), system: fc.option(fc.nat({ max: systemTargets.length - 1 }), { nil: null }) }),
    async run(input) {
      const { code: bytes, data, value, system } = input as { code: Uint8Array; data: Uint8Array; value: bigint; system: number | null };
      try {
        return await chain.executeAt('latest', async (state, env) => {
          const target = system === null ? sha256(bytes).subarray(0, 20) : systemTargets[system]!;
          if (system === null) await putCode(state, target, bytes);
          const outcome = await simulateCall(state, env, { from: addressOf(DEV_KEY), to: target, value, data, gasLimit: 1_000_000 });
          return outcome.failure ?? ACCEPTED;
        });
      } catch (error) {
        throw new Crash(`evm threw: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      }
    },
  };
}
