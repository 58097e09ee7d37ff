// A libp2p host for clients that are not nodes (the `bcr client deal` command, the market bench):
// TCP, noise, yamux and identify as the node uses them, an ephemeral peer key, dial-only by default.
import '../util/polyfills.js';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import type { Libp2p } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { createLibp2p } from 'libp2p';

/** `listen`: addresses to listen on too (a bench's provider side); none for a client. */
export async function createClientHost(listen: string[] = []): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  });
}
