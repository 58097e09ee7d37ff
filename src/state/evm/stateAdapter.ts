// The EVM's view of BCR state: @ethereumjs/evm asks through this StateManagerInterface and every
// answer comes from (and every write goes to) the block's StateDb, so contract state shares the
// block's journal, undo data and state root. No cache of its own: system contracts write the same
// StateDb directly and the EVM must see their writes at once.
import type { AccountFields, StateManagerInterface } from '@ethereumjs/common';
import { Account, type Address } from '@ethereumjs/util';
import { accountKey, decodeAccount, lockedAmount, putAccount as putBcrAccount } from '../accounts.js';
import { decodeCode, EMPTY_CODE_HASH, getCode, getStorage, putCode, putStorage, storageKey, type ContractCode } from '../contracts.js';
import { isSystemAddress, SYSTEM_CODE } from './system/abis.js';

const SYSTEM_CONTRACT_CODE = decodeCode(SYSTEM_CODE);
import type { StateDb } from '../stateDb.js';
import { keyString } from '../../primitives/index.js';

/** The storage root the EVM sees: storage is flat in BCR's tree, so no per-account trie exists. */
const EMPTY_TRIE_ROOT = Uint8Array.from(Buffer.from('56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421', 'hex'));

export class EvmStateAdapter implements StateManagerInterface {
  /** Checkpoints of the StateDb journal, one per open EVM checkpoint. */
  private readonly checkpoints: number[] = [];
  /** Slots written per address in this adapter's life: what clearStorage must delete (flat storage cannot be listed). */
  private readonly writtenSlots = new Map<string, Set<string>>();
  private readonly originals = new Map<string, Uint8Array>();

  readonly originalStorageCache = {
    get: async (address: Address, key: Uint8Array): Promise<Uint8Array> => {
      const id = keyString(storageKey(address.bytes, key));
      const seen = this.originals.get(id);
      if (seen) return seen;
      const value = await getStorage(this.state, address.bytes, key);
      this.originals.set(id, value);
      return value;
    },
    clear: (): void => this.originals.clear(),
  };

  /** `slot` fixes what vesting has unlocked: the EVM sees the spendable balance only. */
  constructor(
    readonly state: StateDb,
    private readonly slot: number,
  ) {}

  /** A system contract shows SYSTEM_CODE; other accounts their stored code. */
  private async code(address: Uint8Array): Promise<ContractCode> {
    return isSystemAddress(address) ? SYSTEM_CONTRACT_CODE : getCode(this.state, address);
  }

  async getAccount(address: Address): Promise<Account | undefined> {
    const stored = await this.state.getTyped(accountKey(address.bytes), decodeAccount);
    const code = await this.code(address.bytes);
    if (stored.balance === 0n && stored.nonce === 0 && stored.vesting === null && code.code.length === 0) return undefined;
    const spendable = stored.balance - lockedAmount(stored.vesting, this.slot);
    return new Account(BigInt(stored.nonce), spendable > 0n ? spendable : 0n, EMPTY_TRIE_ROOT, code.hash, code.code.length);
  }

  async putAccount(address: Address, account?: Account): Promise<void> {
    if (!account) return this.deleteAccount(address);
    const stored = await this.state.getTyped(accountKey(address.bytes), decodeAccount);
    if (account.nonce > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('account nonce beyond 2^53');
    // The locked part of a vesting grant never reaches the EVM; it is added back on the way out.
    const locked = lockedAmount(stored.vesting, this.slot);
    await putBcrAccount(this.state, address.bytes, { balance: account.balance + locked, nonce: Number(account.nonce), vesting: stored.vesting });
  }

  /** A vesting grant survives: only what the EVM could see (spendable balance, nonce, code, storage) goes. */
  async deleteAccount(address: Address): Promise<void> {
    const stored = await this.state.getTyped(accountKey(address.bytes), decodeAccount);
    const locked = lockedAmount(stored.vesting, this.slot);
    await putBcrAccount(this.state, address.bytes, { balance: locked, nonce: stored.vesting ? stored.nonce : 0, vesting: stored.vesting });
    await putCode(this.state, address.bytes, new Uint8Array(0));
    await this.clearStorage(address);
  }

  async modifyAccountFields(address: Address, fields: AccountFields): Promise<void> {
    const account = (await this.getAccount(address)) ?? new Account();
    account.nonce = fields.nonce ?? account.nonce;
    account.balance = fields.balance ?? account.balance;
    await this.putAccount(address, account);
  }

  async putCode(address: Address, value: Uint8Array): Promise<void> {
    await putCode(this.state, address.bytes, value);
  }

  async getCode(address: Address): Promise<Uint8Array> {
    return (await this.code(address.bytes)).code;
  }

  async getCodeSize(address: Address): Promise<number> {
    return (await this.code(address.bytes)).code.length;
  }

  async getStorage(address: Address, key: Uint8Array): Promise<Uint8Array> {
    if (key.length !== 32) throw new RangeError('storage key must be 32 bytes');
    return getStorage(this.state, address.bytes, key);
  }

  async putStorage(address: Address, key: Uint8Array, value: Uint8Array): Promise<void> {
    if (key.length !== 32) throw new RangeError('storage key must be 32 bytes');
    await this.originalStorageCache.get(address, key);
    const id = keyString(address.bytes);
    let slots = this.writtenSlots.get(id);
    if (!slots) this.writtenSlots.set(id, (slots = new Set()));
    slots.add(keyString(key));
    await putStorage(this.state, address.bytes, key, value);
  }

  /**
   * Deletes the slots written through this adapter. The EVM clears storage only for an account it
   * creates or destroys in the same tx (EIP-6780), whose every slot was written here.
   */
  async clearStorage(address: Address): Promise<void> {
    const slots = this.writtenSlots.get(keyString(address.bytes));
    if (!slots) return;
    for (const slot of slots) await putStorage(this.state, address.bytes, Buffer.from(slot, 'latin1'), new Uint8Array(0));
    slots.clear();
  }

  /** Forgets open checkpoints after the EVM threw out of a message (the caller reverted the StateDb). */
  resetCheckpoints(): void {
    this.checkpoints.length = 0;
  }

  async checkpoint(): Promise<void> {
    this.checkpoints.push(this.state.checkpoint());
  }

  async commit(): Promise<void> {
    this.checkpoints.pop();
  }

  async revert(): Promise<void> {
    const checkpoint = this.checkpoints.pop();
    if (checkpoint === undefined) throw new Error('EVM revert without a checkpoint');
    this.state.revertTo(checkpoint);
  }

  /** The state root belongs to the block (StateDb.commit), not to a tx: the EVM never needs it here. */
  async getStateRoot(): Promise<Uint8Array> {
    throw new Error('the state root is computed once per block by the chain');
  }

  async setStateRoot(): Promise<void> {
    throw new Error('the EVM runs on the block state it was given');
  }

  async hasStateRoot(): Promise<boolean> {
    return false;
  }

  clearCaches(): void {}

  shallowCopy(): StateManagerInterface {
    return new EvmStateAdapter(this.state, this.slot);
  }
}

export { EMPTY_CODE_HASH };
