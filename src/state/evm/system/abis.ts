// The system contracts' addresses and ABIs. contracts/interfaces/*.sol declares the same functions
// for Solidity callers (a test compiles them and compares the ABIs, so the two cannot drift).
import { parseAbi } from 'viem';

const systemAddress = (low: number): Uint8Array => {
  const address = new Uint8Array(20);
  address[18] = low >> 8;
  address[19] = low & 0xff;
  return address;
};

export const SYSTEM_ADDRESSES = {
  market: systemAddress(0xbc01),
  miners: systemAddress(0xbc02),
  governance: systemAddress(0xbc03),
  attestations: systemAddress(0xbc04),
  apps: systemAddress(0xbc10),
} as const;

/**
 * What EXTCODESIZE and EXTCODEHASH see at a system address: one INVALID opcode. Solidity refuses to
 * call an address without code, and the precompile runs in place of any code anyway.
 */
export const SYSTEM_CODE = new Uint8Array([0xfe]);

export function isSystemAddress(address: Uint8Array): boolean {
  if (address[18] !== 0xbc) return false;
  for (let i = 0; i < 18; i++) if (address[i] !== 0) return false;
  return Object.values(SYSTEM_ADDRESSES).some((a) => a[19] === address[19]);
}

export const MARKET_ABI = parseAbi([
  'struct Deal { address client; uint64 provider; bytes32 pieceCommitment; uint64 pieceBytes; uint64 startSlot; uint64 endSlot; uint256 pricePerSlot; uint256 providerCollateral; uint256 clientCollateral; uint8 state; uint64 sector; uint64 lastPaidSlot; }',
  'function deposit(address client) payable',
  'function escrow(address account) view returns (uint256 total, uint256 locked)',
  'function dealExists(uint64 id) view returns (bool)',
  'function getDeal(uint64 id) view returns (Deal)',
  'function dealActive(uint64 id) view returns (bool)',
  'function dealCount() view returns (uint64)',
]);

export const MINERS_ABI = parseAbi([
  'struct MinerInfo { bool exists; address owner; address worker; uint64 sectorSize; uint256 power; uint256 collateral; uint256 pledge; uint64 nextSector; }',
  'struct SectorInfo { bool exists; uint8 state; bytes32 commD; bytes32 commR; uint64 activation; uint64 expiration; uint64[] dealIds; }',
  'function getMiner(uint64 id) view returns (MinerInfo)',
  'function getSector(uint64 miner, uint64 sector) view returns (SectorInfo)',
]);

export const GOVERNANCE_ABI = parseAbi([
  'struct ProposalInfo { bool exists; address proposer; uint8 state; uint64 approvals; uint64 createdSlot; uint64 approvedSlot; uint64 closedSlot; }',
  'function getProposal(bytes32 id) view returns (ProposalInfo)',
]);

export const ATTESTATIONS_ABI = parseAbi([
  'struct AttestationInfo { bool exists; bytes32 hash; string tag; bytes32 ref; bytes meta; address attester; uint64 height; }',
  'function attest(bytes32 hash, string tag, bytes32 ref, bytes meta) returns (bytes32 id)',
  'function getAttestation(bytes32 id) view returns (AttestationInfo)',
  'function countOf(bytes32 hash) view returns (uint64)',
]);

export const APPS_ABI = parseAbi([
  'struct Payee { address account; uint16 shareBps; }',
  'struct App { bool exists; address developer; string name; string version; bytes32 contentHash; string uri; uint256 price; uint64 periodSlots; Payee[] payees; uint64 sales; uint64 publishedHeight; uint64 updatedHeight; }',
  'function publish(string name, string version, bytes32 contentHash, string uri, uint256 price, uint64 periodSlots, Payee[] payees) returns (uint64 id)',
  'function update(uint64 id, string version, bytes32 contentHash, string uri, uint256 price)',
  'function buy(uint64 id) payable returns (uint64 licensedUntil)',
  'function buyFor(uint64 id, address user) payable returns (uint64 licensedUntil)',
  'function getApp(uint64 id) view returns (App)',
  'function licenseOf(uint64 id, address user) view returns (uint64 licensedUntil)',
  'function hasLicense(uint64 id, address user) view returns (bool)',
  'function appCount() view returns (uint64)',
  'event Published(uint64 indexed id, address indexed developer, string name, string version)',
  'event Updated(uint64 indexed id, string version, uint256 price)',
  'event Purchased(uint64 indexed id, address indexed user, address indexed payer, uint256 price, uint64 licensedUntil)',
]);
