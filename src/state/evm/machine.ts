// One @ethereumjs/evm instance per block (or per eth_call) over the block's state, at Ethereum's
// Prague rules with BCR's chain id. The subclass keeps the stack of running messages so that BCR's
// system contracts (precompiles) learn who called them and with what value, which @ethereumjs
// does not pass to a precompile.
import { Mainnet, createCustomCommon, Hardfork, type Common } from '@ethereumjs/common';
import { EVM, NobleBN254, type EVMMockBlockchainInterface, type EVMOpts } from '@ethereumjs/evm';
import type { Message } from '@ethereumjs/evm';
import type { EvmStateAdapter } from './stateAdapter.js';

const commons = new Map<number, Common>();

/** Common holds no per-run state once built, so one per chain id is shared. */
export function evmCommon(chainId: number): Common {
  let common = commons.get(chainId);
  if (!common) {
    common = createCustomCommon({ chainId, name: `bcr-${chainId}` }, Mainnet, { hardfork: Hardfork.Prague });
    commons.set(chainId, common);
  }
  return common;
}

type ExecuteCall = (message: Message & { to: NonNullable<Message['to']> }) => ReturnType<EVM['runCall']>;

export class BcrEvm extends EVM {
  private readonly messages: Message[] = [];

  /** The message whose code is running: a system contract's caller, value and static flag. */
  get currentMessage(): Message | undefined {
    return this.messages[this.messages.length - 1];
  }

  protected override async _executeCall(message: Parameters<ExecuteCall>[0]): ReturnType<ExecuteCall> {
    this.messages.push(message);
    try {
      return await super._executeCall(message);
    } finally {
      this.messages.pop();
    }
  }
}

export interface EvmSetup {
  chainId: number;
  state: EvmStateAdapter;
  /** Block ids by height for BLOCKHASH (the last 256 ancestors of the block being run). */
  blockHash: (height: number) => Promise<Uint8Array | undefined>;
  precompiles?: EVMOpts['customPrecompiles'];
}

const bn254 = new NobleBN254();

export function createBcrEvm(setup: EvmSetup): BcrEvm {
  const blockchain: EVMMockBlockchainInterface = {
    async getBlock(height: number) {
      const hash = (await setup.blockHash(height)) ?? new Uint8Array(32);
      return { hash: () => hash };
    },
    putBlock: async () => {},
    shallowCopy() {
      return blockchain;
    },
  };
  return new BcrEvm({ common: evmCommon(setup.chainId), stateManager: setup.state, blockchain, bn254, customPrecompiles: setup.precompiles });
}
