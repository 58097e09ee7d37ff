// Compiles Solidity in the test with solc-js (the pinned solc on npm), resolving OpenZeppelin
// imports from node_modules. Output is cached in the OS temp dir by source hash: a compile of
// OpenZeppelin's ERC-20 takes seconds, and every worker would otherwise repeat it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export interface CompiledContract {
  abi: unknown[];
  bytecode: string;
}

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
}

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Imports resolve from the package's contracts/ directory, then from node_modules. */
function findImport(path: string): { contents: string } | { error: string } {
  try {
    return { contents: readFileSync(path.startsWith('contracts/') ? join(REPO, path) : require.resolve(path), 'utf8') };
  } catch {
    return { error: `not found: ${path}` };
  }
}

/** Compiles `sources` (file name -> Solidity) and returns every contract by name. */
export function compileSolidity(sources: Record<string, string>, evmVersion = 'cancun'): Record<string, CompiledContract> {
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([name, content]) => [name, { content }])),
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const solcVersion = (require('solc/package.json') as { version: string }).version;
  const imported = readdirSync(join(REPO, 'contracts/interfaces')).sort().map((f) => readFileSync(join(REPO, 'contracts/interfaces', f), 'utf8'));
  const key = createHash('sha256').update(solcVersion).update(JSON.stringify(input)).update(imported.join('\n')).digest('hex').slice(0, 32);
  const cacheFile = join(tmpdir(), 'bcr-solc-cache', `${key}.json`);
  if (existsSync(cacheFile)) return JSON.parse(readFileSync(cacheFile, 'utf8')) as Record<string, CompiledContract>;

  const solc = require('solc') as { compile(input: string, opts: { import: typeof findImport }): string };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport })) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const contracts: Record<string, CompiledContract> = {};
  for (const file of Object.values(output.contracts)) {
    for (const [name, contract] of Object.entries(file)) contracts[name] = { abi: contract.abi, bytecode: '0x' + contract.evm.bytecode.object };
  }
  mkdirSync(dirname(cacheFile), { recursive: true });
  const partial = `${cacheFile}.${process.pid}.tmp`;
  writeFileSync(partial, JSON.stringify(contracts));
  renameSync(partial, cacheFile);
  return contracts;
}

/** An OpenZeppelin ERC-20 that mints its whole supply to the deployer, and a contract that reverts with reasons. */
export const TEST_CONTRACTS = {
  'Token.sol': `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
import "@openzeppelin/contracts/token/ERC20/ERC20.sol";
contract Token is ERC20 {
  constructor(uint256 supply) ERC20("Test Token", "TT") { _mint(msg.sender, supply); }
}`,
  'Probe.sol': `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract Probe {
  uint256 public stored;
  event Stored(address indexed by, uint256 value);
  function store(uint256 value) external { require(value != 13, "unlucky number"); stored = value; emit Stored(msg.sender, value); }
  function burn(uint256 rounds) external { for (uint256 i = 0; i < rounds; i++) { stored = stored + i; } }
  function hashOf(uint256 height) external view returns (bytes32) { return blockhash(height); }
  function env() external view returns (uint256 chainId, uint256 number, uint256 time, address miner, uint256 baseFee) { return (block.chainid, block.number, block.timestamp, block.coinbase, block.basefee); }
  receive() external payable { stored = msg.value; }
}`,
};

/** Contracts that use BCR's system contracts through the shipped interfaces. */
export const SYSTEM_CALLERS = {
  'StoragePayer.sol': `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
import "contracts/interfaces/IBcrMarket.sol";
import "contracts/interfaces/IBcrMiners.sol";
import "contracts/interfaces/IBcrAttestations.sol";
contract StoragePayer {
  IBcrMarket constant MARKET = IBcrMarket(0x000000000000000000000000000000000000BC01);
  IBcrMiners constant MINERS = IBcrMiners(0x000000000000000000000000000000000000bc02);
  IBcrAttestations constant ATTESTATIONS = IBcrAttestations(0x000000000000000000000000000000000000Bc04);
  function fund(address client) external payable { MARKET.deposit{value: msg.value}(client); }
  function fundByDelegatecall(address client) external payable {
    (bool ok, bytes memory reason) = address(MARKET).delegatecall(abi.encodeCall(IBcrMarket.deposit, (client)));
    if (!ok) assembly { revert(add(reason, 32), mload(reason)) }
  }
  function escrowOf(address account) external view returns (uint256 total, uint256 locked) { return MARKET.escrow(account); }
  function dealActive(uint64 id) external view returns (bool) { return MARKET.dealActive(id); }
  function dealClient(uint64 id) external view returns (address) { return MARKET.getDeal(id).client; }
  function minerPower(uint64 id) external view returns (uint256) { return MINERS.getMiner(id).power; }
  function minerOwner(uint64 id) external view returns (address) { return MINERS.getMiner(id).owner; }
  function notarize(bytes32 hash) external returns (bytes32) { return ATTESTATIONS.attest(hash, "notary/v1", bytes32(0), hex"0102"); }
  function notarizeInStaticCall(bytes32 hash) external view returns (bool ok) {
    (ok, ) = address(ATTESTATIONS).staticcall(abi.encodeCall(IBcrAttestations.attest, (hash, "notary/v1", bytes32(0), "")));
  }
  function attesterOf(bytes32 id) external view returns (address) { return ATTESTATIONS.getAttestation(id).attester; }
}`,
};
