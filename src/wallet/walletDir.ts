// A directory of keystore files named like geth's: UTC--<iso time>--<address>.json
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BcrError, errorMessage, fromHex, toChecksumAddress } from '../primitives/index.js';
import { writeFileDurableSync } from '../util/durableFile.js';
import { decryptKeystore, encryptKeystore, encryptVrfKeystore, type KeystoreV3 } from './keystore.js';

export function defaultKeystoreDir(): string {
  return process.env.BCR_KEYSTORE ?? join(homedir(), '.bcr', 'keystore');
}

export interface KeystoreEntry {
  address: string;
  file: string;
}

/** A file in the keystore directory that looks like a key file but cannot be read as one. */
export interface UnreadableKeystore {
  file: string;
  reason: string;
}

/**
 * The key files of a keystore directory. Files named like key files (UTC--*, vrf--*) that do not parse
 * are reported in `unreadable`, never skipped silently: a torn or corrupt key file is a lost key.
 */
export function scanKeystores(dir: string): { entries: KeystoreEntry[]; unreadable: UnreadableKeystore[] } {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { entries: [], unreadable: [] };
  }
  const entries: KeystoreEntry[] = [];
  const unreadable: UnreadableKeystore[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.') && name.endsWith('.tmp')) continue; // a write that never finished (the target is intact)
    const file = join(dir, name);
    const named = name.startsWith('UTC--') || name.startsWith('vrf--');
    try {
      const ks = JSON.parse(readFileSync(file, 'utf8')) as KeystoreV3;
      if (ks.version === 3 && typeof ks.address === 'string') entries.push({ address: toChecksumAddress(fromHex(ks.address)), file });
      else if (named && ks.bcr?.kind !== 'vrf') unreadable.push({ file, reason: 'not a version 3 keystore' });
    } catch (error) {
      if (named) unreadable.push({ file, reason: errorMessage(error) });
    }
  }
  return { entries, unreadable };
}

export function listKeystores(dir: string): KeystoreEntry[] {
  return scanKeystores(dir).entries;
}

export function saveKeystore(dir: string, privateKey: Uint8Array, password: string, scryptN?: number): KeystoreEntry {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ks = encryptKeystore(privateKey, password, scryptN ? { scryptN } : {});
  const stamp = new Date().toISOString().replace(/:/g, '-');
  const file = join(dir, `UTC--${stamp}--${ks.address!}.json`);
  writeFileDurableSync(file, JSON.stringify(ks));
  return { address: toChecksumAddress(fromHex(ks.address!)), file };
}

/** Saves a miner's VRF secret as vrf--<public key>.json; returns the file. */
export function saveVrfKeystore(dir: string, secret: Uint8Array, password: string, scryptN?: number): { publicKey: string; file: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ks = encryptVrfKeystore(secret, password, scryptN ? { scryptN } : {});
  const file = join(dir, `vrf--${ks.bcr!.publicKey}.json`);
  writeFileDurableSync(file, JSON.stringify(ks));
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
  const { entries, unreadable } = scanKeystores(dir);
  const entry = entries.find((e) => e.address.toLowerCase() === wanted);
  if (!entry) {
    const damaged = unreadable.length ? `; ${unreadable.length} key file(s) there cannot be read (torn or corrupt: restore from a backup): ${unreadable.map((u) => `${u.file} (${u.reason})`).join(', ')}` : '';
    throw new BcrError('NO_SUCH_KEY', `no keystore for ${address} in ${dir}${damaged}`);
  }
  return entry;
}

export function unlockKeystore(file: string, password: string): Uint8Array {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new BcrError('BAD_KEYSTORE', `cannot read keystore ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return decryptKeystore(json, password);
  } catch (error) {
    // Which key the password was wrong for: a keystore holds many, each with its own password.
    if (error instanceof BcrError && error.code === 'WRONG_PASSWORD') throw new BcrError('WRONG_PASSWORD', `wrong password for ${file} (the keystore's MAC does not match)`);
    throw error;
  }
}

/**
 * A miner's key resolver over a keystore directory (the miner asks for keys, never reads files):
 * the worker key by address, the VRF secret by public key.
 */
export function keystoreKeyResolver(dir: string, password: string): { workerKey(address: string): Uint8Array; vrfSecret(publicKey: string): Uint8Array | null } {
  return {
    workerKey: (address) => unlockKeystore(findKeystore(dir, address).file, password),
    vrfSecret: (publicKey) => {
      const file = findVrfKeystore(dir, publicKey);
      return file ? unlockKeystore(file, password) : null;
    },
  };
}
