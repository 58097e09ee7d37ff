// A miner's addresses come from the chain, written by the miner: whatever does not parse is dropped.
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { dialAddresses } from '../../src/client/index.js';

describe('dialAddresses', () => {
  it('keeps dialable multiaddrs with the peer id appended, drops the rest (and the HTTP gateway address), and names the miner when none is left', async () => {
    const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
    const written = ['not-a-multiaddr', '/ip4/127.0.0.1/tcp/4001', '/ip4/127.0.0.1/tcp/8648/http', `/ip4/10.0.0.1/tcp/1/p2p/${other}`, '/ip4/127.0.0.1/tcp/1/p2p/notapeer', '/ip4/999.0.0.1/tcp/1', ''];
    expect(dialAddresses(7, { peerId, multiaddrs: written }).map(String)).toEqual([`/ip4/127.0.0.1/tcp/4001/p2p/${peerId}`, `/ip4/10.0.0.1/tcp/1/p2p/${other}`]);
    expect(() => dialAddresses(7, { peerId: 'garbage', multiaddrs: ['/ip4/127.0.0.1/tcp/4001'] })).toThrow('miner 7 has no valid peer addresses on chain');
    expect(() => dialAddresses(7, { peerId, multiaddrs: [] })).toThrow('miner 7 has no valid peer addresses');
  });
});
