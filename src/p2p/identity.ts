// The node's libp2p identity, kept in the data dir so its peer id survives restarts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { writeFileDurableSync } from '../util/durableFile.js';

export async function loadOrCreatePeerKey(dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, 'p2p.key');
  if (existsSync(path)) return privateKeyFromProtobuf(new Uint8Array(readFileSync(path)));
  const key = await generateKeyPair('Ed25519');
  writeFileDurableSync(path, privateKeyToProtobuf(key));
  return key;
}
