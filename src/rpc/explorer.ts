// The block explorer's static files (explorer/ in the package), served at /explorer on the RPC
// port. Read once at start into memory; only those exact names are served (no path from the URL
// ever reaches the file system). The page is same-origin with the RPC and reads over it with read
// methods only; a strict Content-Security-Policy keeps any injected markup from running scripts.
import { readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const EXPLORER_DIR = fileURLToPath(new URL('../../explorer/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface StaticFile {
  body: Buffer;
  type: string;
}

export function loadExplorer(dir = EXPLORER_DIR): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { body: readFileSync(join(dir, name)), type });
  }
  return files;
}

/** Answers GET/HEAD under /explorer; false when the request is not for the explorer. */
export function serveExplorer(req: IncomingMessage, res: ServerResponse, files: Map<string, StaticFile>, host: string): boolean {
  const path = (req.url ?? '/').split('?')[0]!;
  if (path !== '/explorer' && !path.startsWith('/explorer/')) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('the explorer is read-only\n');
    return true;
  }
  if (path === '/explorer') {
    res.writeHead(301, { location: '/explorer/' }).end();
    return true;
  }
  const name = path.slice('/explorer/'.length) || 'index.html';
  const file = files.get(name);
  if (!file) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('no such explorer file\n');
    return true;
  }
  res.writeHead(200, {
    'content-type': file.type,
    'content-length': file.body.length,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'content-security-policy': `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws://${host} wss://${host}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
  });
  res.end(req.method === 'HEAD' ? undefined : file.body);
  return true;
}
