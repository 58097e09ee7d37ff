// A directory of keystore files named like geth's: UTC--<iso time>--<address>.json
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BcrError, fromHex, toChecksumAddress } from '../primitives/index.js';
import { decryptKeystore, encryptKeystore, encryptVrfKeystore, type KeystoreV3 } from './keystore.js';

export function defaultKeystoreDir(): string {
  return process.env.BCR_KEYSTORE ?? join(homedir(), '.bcr', 'keystore');
}

export interface KeystoreEntry {
  address: string;
  file: string;
}

export function listKeystores(dir: string): KeystoreEntry[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: KeystoreEntry[] = [];
  for (const name of names.sort()) {
    const file = join(dir, name);
    try {
      const ks = JSON.parse(readFileSync(file, 'utf8')) as KeystoreV3;
      if (ks.version === 3 && typeof ks.address === 'string') out.push({ address: toChecksumAddress(fromHex(ks.address)), file });
    } catch {
      // Not a keystore file: skip it.
    }
  }
  return out;
}

export function saveKeystore(dir: string, privateKey: Uint8Array, password: string, scryptN?: number): KeystoreEntry {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ks = encryptKeystore(privateKey, password, scryptN ? { scryptN } : {});
  const stamp = new Date().toISOString().replace(/:/g, '-');
  const file = join(dir, `UTC--${stamp}--${ks.address!}.json`);
  writeFileSync(file, JSON.stringify(ks), { mode: 0o600 });
  return { address: toChecksumAddress(fromHex(ks.address!)), file };
}

/** Saves a miner's VRF secret as vrf--<public key>.json; returns the file. */
export function saveVrfKeystore(dir: string, secret: Uint8Array, password: string, scryptN?: number): { publicKey: string; file: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ks = encryptVrfKeystore(secret, password, scryptN ? { scryptN } : {});
  const file = join(dir, `vrf--${ks.bcr!.publicKey}.json`);
  writeFileSync(file, JSON.stringify(ks), { mode: 0o600 });
  return { publicKey: `0x${ks.bcr!.publicKey}`, file };
}

/** The VRF key file whose public key is `publicKey` (0x-hex), if the keystore holds it. */
export function findVrfKeystore(dir: string, publicKey: string): string | undefined {
  const wanted = publicKey.toLowerCase().replace(/^0x/, '');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (!name.startsWith('vrf--')) continue;
    try {
      const ks = JSON.parse(readFileSync(join(dir, name), 'utf8')) as KeystoreV3;
      if (ks.bcr?.kind === 'vrf' && ks.bcr.publicKey.toLowerCase() === wanted) return join(dir, name);
    } catch {
      // Not a keystore file: skip it.
    }
  }
  return undefined;
}

export function findKeystore(dir: string, address: string): KeystoreEntry {
  const wanted = address.toLowerCase();
  const entry = listKeystores(dir).find((e) => e.address.toLowerCase() === wanted);
  if (!entry) throw new BcrError('NO_SUCH_KEY', `no keystore for ${address} in ${dir}`);
  return entry;
}

export function unlockKeystore(file: string, password: string): Uint8Array {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new BcrError('BAD_KEYSTORE', `cannot read keystore ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return decryptKeystore(json, password);
}
