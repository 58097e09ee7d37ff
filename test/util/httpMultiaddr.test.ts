import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { httpUrlOfMultiaddr, isHttpMultiaddr, multiaddrOfHttpUrl } from '../../src/util/httpMultiaddr.js';

describe('HTTP multiaddrs', () => {
  it('turns gateway multiaddrs into URLs and back', () => {
    expect(httpUrlOfMultiaddr('/ip4/127.0.0.1/tcp/8648/http')).toBe('http://127.0.0.1:8648/');
    expect(httpUrlOfMultiaddr('/dns4/gw.example.org/tcp/443/https')).toBe('https://gw.example.org:443/');
    expect(httpUrlOfMultiaddr('/ip6/::1/tcp/80/http')).toBe('http://[::1]:80/');
    expect(multiaddrOfHttpUrl('http://127.0.0.1:8648/')).toBe('/ip4/127.0.0.1/tcp/8648/http');
    expect(multiaddrOfHttpUrl('http://[::1]:9000/')).toBe('/ip6/::1/tcp/9000/http');
    expect(isHttpMultiaddr('/ip4/127.0.0.1/tcp/8648/http')).toBe(true);
    expect(isHttpMultiaddr('/ip4/127.0.0.1/tcp/4001')).toBe(false);
  });

  it('refuses what is not an HTTP address', () => {
    for (const bad of ['/ip4/127.0.0.1/tcp/4001', '/ip4/127.0.0.1/tcp/0/http', '/ip4/127.0.0.1/tcp/99999/http', '/ip4/a b/tcp/1/http', '/ip6/zz/tcp/1/http', 'http://x/', '']) expect(httpUrlOfMultiaddr(bad)).toBeNull();
  });

  test.prop([fc.string({ maxLength: 300 })])('never throws on hostile text', (text) => {
    const url = httpUrlOfMultiaddr(text);
    if (url !== null) expect(() => new URL(url)).not.toThrow();
  });
});
