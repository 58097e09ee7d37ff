// Lotus-style API permissions. Tokens are HS256 JWTs with a `perms` claim, signed with a secret kept
// in the data dir (created on first start, mode 600). Without a token a caller can read, and send
// already-signed txs when it connects over loopback.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, jwtVerify } from 'jose';
import { BcrError } from '../primitives/index.js';

export const PERMISSIONS = ['read', 'write', 'sign', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Each level includes the ones before it. */
export function permissionsUpTo(level: Permission): Permission[] {
  return PERMISSIONS.slice(0, PERMISSIONS.indexOf(level) + 1);
}

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

const SECRET_FILE = 'jwt.secret';

export function loadOrCreateSecret(dataDir: string): Uint8Array {
  const path = join(dataDir, SECRET_FILE);
  if (!existsSync(path)) writeFileSync(path, randomBytes(32).toString('hex'), { mode: 0o600 });
  return new Uint8Array(Buffer.from(readFileSync(path, 'utf8').trim(), 'hex'));
}

export function readSecret(dataDir: string): Uint8Array {
  const path = join(dataDir, SECRET_FILE);
  if (!existsSync(path)) throw new BcrError('NO_SECRET', `no ${SECRET_FILE} in ${dataDir}: start the node once to create it`);
  return new Uint8Array(Buffer.from(readFileSync(path, 'utf8').trim(), 'hex'));
}

export async function createToken(secret: Uint8Array, level: Permission): Promise<string> {
  return new SignJWT({ perms: permissionsUpTo(level) }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(secret);
}

/** The permissions a request has: from its bearer token, else the loopback defaults. */
export async function requestPermissions(secret: Uint8Array, authorization: string | undefined, fromLoopback: boolean): Promise<Set<Permission> | 'BAD_TOKEN'> {
  if (!authorization) return new Set<Permission>(fromLoopback ? ['read', 'write'] : ['read']);
  const match = /^Bearer\s+(.+)$/i.exec(authorization);
  if (!match) return 'BAD_TOKEN';
  try {
    const { payload } = await jwtVerify(match[1]!, secret, { algorithms: ['HS256'] });
    const perms = Array.isArray(payload.perms) ? payload.perms.filter((p): p is Permission => typeof p === 'string' && isPermission(p)) : [];
    return new Set<Permission>(['read', ...perms]);
  } catch {
    return 'BAD_TOKEN';
  }
}
