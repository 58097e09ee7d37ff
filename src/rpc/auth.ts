// Lotus-style API permissions. Tokens are HS256 JWTs with a `perms` claim, signed with a secret kept
// in the data dir (created on first start, mode 600). Without a token a caller can read, and send
// already-signed txs when it connects over loopback.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileDurableSync } from '../util/durableFile.js';
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
  if (!existsSync(path)) writeFileDurableSync(path, randomBytes(32).toString('hex'));
  return new Uint8Array(Buffer.from(readFileSync(path, 'utf8').trim(), 'hex'));
}

export function readSecret(dataDir: string): Uint8Array {
  const path = join(dataDir, SECRET_FILE);
  if (!existsSync(path)) throw new BcrError('NO_SECRET', `no ${SECRET_FILE} in ${dataDir}: start the node once to create it`);
  return new Uint8Array(Buffer.from(readFileSync(path, 'utf8').trim(), 'hex'));
}

/** Default token lifetime: 30 days (a token that leaks stops working on its own). */
export const DEFAULT_TOKEN_LIFETIME_S = 30 * 24 * 3600;

export interface TokenOptions {
  /** Seconds until the token expires (default 30 days). */
  expiresInSeconds?: number;
  /** No expiry, on purpose: marked in the token, so a token that merely lacks `exp` is still refused. */
  longLived?: boolean;
}

export async function createToken(secret: Uint8Array, level: Permission, options: TokenOptions = {}): Promise<string> {
  const jwt = new SignJWT({ perms: permissionsUpTo(level), ...(options.longLived ? { longLived: true } : {}) }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (!options.longLived) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresInSeconds ?? DEFAULT_TOKEN_LIFETIME_S));
  return jwt.sign(secret);
}

/** "90s", "45m", "12h", "30d" or plain seconds, as seconds; null when unreadable. */
export function parseDuration(text: string): number | null {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  if (!match) return null;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * unit;
  return seconds > 0 ? seconds : null;
}

/** The permissions a request has: from its bearer token, else the loopback defaults. */
export async function requestPermissions(secret: Uint8Array, authorization: string | undefined, fromLoopback: boolean): Promise<Set<Permission> | 'BAD_TOKEN'> {
  if (!authorization) return new Set<Permission>(fromLoopback ? ['read', 'write'] : ['read']);
  const match = /^Bearer\s+(.+)$/i.exec(authorization);
  if (!match) return 'BAD_TOKEN';
  try {
    // jwtVerify refuses an expired `exp`; a token without one must say it is long-lived on purpose.
    const { payload } = await jwtVerify(match[1]!, secret, { algorithms: ['HS256'] });
    if (payload.exp === undefined && payload.longLived !== true) return 'BAD_TOKEN';
    const perms = Array.isArray(payload.perms) ? payload.perms.filter((p): p is Permission => typeof p === 'string' && isPermission(p)) : [];
    return new Set<Permission>(['read', ...perms]);
  } catch {
    return 'BAD_TOKEN';
  }
}
