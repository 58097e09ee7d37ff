// The gas a tx costs before its first opcode (Ethereum's Prague rules), and the calldata floor of
// EIP-7623. Pure functions of the tx bytes: checked when the tx is verified, before any state.
export const TX_BASE_GAS = 21_000;
export const TX_CREATE_GAS = 32_000;
const ZERO_BYTE_GAS = 4;
const NONZERO_BYTE_GAS = 16;
const ACCESS_LIST_ADDRESS_GAS = 2_400;
const ACCESS_LIST_SLOT_GAS = 1_900;
const INITCODE_WORD_GAS = 2;
const FLOOR_GAS_PER_TOKEN = 10;
/** EIP-3860: the most init code a create may carry (twice the 24 KiB code limit). */
export const MAX_INITCODE_BYTES = 49_152;

export interface AccessListEntry {
  address: Uint8Array;
  slots: Uint8Array[];
}

function zeroBytes(data: Uint8Array): number {
  let zeros = 0;
  for (const byte of data) if (byte === 0) zeros++;
  return zeros;
}

/** EIP-7623 tokens: a zero byte counts 1, any other byte 4. */
function calldataTokens(data: Uint8Array): number {
  const zeros = zeroBytes(data);
  return zeros + (data.length - zeros) * 4;
}

export function intrinsicGas(data: Uint8Array, isCreate: boolean, accessList: AccessListEntry[]): number {
  const zeros = zeroBytes(data);
  let gas = TX_BASE_GAS + zeros * ZERO_BYTE_GAS + (data.length - zeros) * NONZERO_BYTE_GAS;
  if (isCreate) gas += TX_CREATE_GAS + Math.ceil(data.length / 32) * INITCODE_WORD_GAS;
  for (const entry of accessList) gas += ACCESS_LIST_ADDRESS_GAS + entry.slots.length * ACCESS_LIST_SLOT_GAS;
  return gas;
}

/** EIP-7623: a tx heavy in calldata pays at least 10 gas per token whatever it executes. */
export function calldataFloorGas(data: Uint8Array): number {
  return TX_BASE_GAS + calldataTokens(data) * FLOOR_GAS_PER_TOKEN;
}
