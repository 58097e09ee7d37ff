// Lotus-style API permissions. Tokens are HS256 JWTs with a `perms` claim, signed with a secret kept
// in the data dir (created on first start, mode 600). Without a token a caller can read, and send
// already-signed txs when it connects over loopback.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileDurableSync } from '../util/durableFile.js';
import { join } from 'node:path';
import { SignJWT, decodeJwt, jwtVerify } from 'jose';
import { BcrError, concatBytes, sha256, toHex, utf8 } from '../primitives/index.js';

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

/**
 * Names the node a secret belongs to without revealing it (8 bytes of a hash): a token carries it,
 * so a node refusing a token made from another data dir can say so.
 */
export function nodeFingerprint(secret: Uint8Array): string {
  return toHex(sha256(concatBytes(utf8('bcr/jwt-node/v1'), secret)).subarray(0, 8)).slice(2);
}

export async function createToken(secret: Uint8Array, level: Permission, options: TokenOptions = {}): Promise<string> {
  const jwt = new SignJWT({ perms: permissionsUpTo(level), node: nodeFingerprint(secret), ...(options.longLived ? { longLived: true } : {}) }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
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

/** A refused token, with what the caller should do about it. */
export interface TokenRefusal {
  refused: string;
}

/** The permissions a request has: from its bearer token, else the loopback defaults; or why the token is refused. */
export async function requestPermissions(secret: Uint8Array, authorization: string | undefined, fromLoopback: boolean): Promise<Set<Permission> | TokenRefusal> {
  if (!authorization) return new Set<Permission>(fromLoopback ? ['read', 'write'] : ['read']);
  const match = /^Bearer\s+(.+)$/i.exec(authorization);
  if (!match) return { refused: 'malformed authorization header: expected "Bearer TOKEN"' };
  try {
    // jwtVerify refuses an expired `exp`; a token without one must say it is long-lived on purpose.
    const { payload } = await jwtVerify(match[1]!, secret, { algorithms: ['HS256'] });
    if (payload.exp === undefined && payload.longLived !== true) return { refused: 'token without an expiry that is not marked long-lived' };
    const perms = Array.isArray(payload.perms) ? payload.perms.filter((p): p is Permission => typeof p === 'string' && isPermission(p)) : [];
    return new Set<Permission>(['read', ...perms]);
  } catch (error) {
    return { refused: whyRefused(match[1]!, secret, error) };
  }
}

function whyRefused(token: string, secret: Uint8Array, error: unknown): string {
  let claims: { node?: unknown; exp?: unknown };
  try {
    claims = decodeJwt(token);
  } catch {
    return 'invalid token (not a JWT)';
  }
  const mine = nodeFingerprint(secret);
  if (typeof claims.node === 'string' && claims.node !== mine) {
    return `invalid token: it was made for node ${claims.node}, this node is ${mine} (create it with bcr auth create-token --data-dir pointing at this node's data dir)`;
  }
  if ((error as { code?: string }).code === 'ERR_JWT_EXPIRED') return 'token expired: create a new one (bcr auth create-token)';
  return 'invalid token: its signature does not match this node\'s secret';
}
