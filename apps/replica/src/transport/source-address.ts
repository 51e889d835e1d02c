// Which "source" an inbound peer socket comes from, for admission
// (admission.ts): an IPv4 address, or the /64 of an IPv6 address, since one
// host is usually given a whole /64 and could otherwise open sockets from as
// many addresses as it likes. And the sources of the membership: the hosts of
// the members' addresses, resolved when they are names.
//
// A TCP source address cannot be forged without being on the path (the
// three-way handshake must complete), so it is good enough to choose which
// pool a socket waits in; it never authenticates anyone: the handshake does.

import { lookup } from 'node:dns/promises';
import { isIPv4, isIPv6 } from 'node:net';

/** The admission source of a socket's remote address; every socket without one shares the source 'unknown'. */
export function sourceKeyOf(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return 'unknown';
  const address = remoteAddress.split('%')[0] ?? remoteAddress;
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return 'unknown';
  // An IPv4-mapped address (::ffff:a.b.c.d, how a dual-stack server sees IPv4 peers) is its IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined && isIPv4(mapped[1])) return mapped[1];
  return `${ipv6Groups(address).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, as lowercase hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const parse = (part: string) =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          // An embedded IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) is two groups.
          if (!g.includes('.')) return [parseInt(g, 16).toString(16)];
          const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
          return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
        });
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
}

/** The host part of a membership address ('http://[::1]:7001' -> '::1'), or undefined if it is not a URL. */
export function addressHost(address: string): string | undefined {
  try {
    const host = new URL(address).hostname;
    return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  } catch {
    return undefined;
  }
}

export type ResolveHost = (host: string) => Promise<string[]>;

export const resolveHostDns: ResolveHost = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

/**
 * The admission sources of the membership's addresses. IP literals count at
 * once; names count once `refresh` has resolved them, and keep their last
 * answer when a later lookup fails (a DNS outage must not take the members'
 * reserved slots away).
 */
export class MemberSources {
  private readonly literal = new Set<string>();
  private readonly names = new Map<string, Set<string>>();

  constructor(
    addresses: readonly string[],
    private readonly resolve: ResolveHost = resolveHostDns,
  ) {
    for (const address of addresses) {
      const host = addressHost(address);
      if (host === undefined) continue;
      if (isIPv4(host) || isIPv6(host)) this.literal.add(sourceKeyOf(host));
      else this.names.set(host, new Set());
    }
  }

  has(source: string): boolean {
    if (this.literal.has(source)) return true;
    for (const sources of this.names.values()) if (sources.has(source)) return true;
    return false;
  }

  /** Resolves every name again; returns the names whose lookup failed (their previous answer stays). */
  async refresh(): Promise<string[]> {
    const failed: string[] = [];
    await Promise.all(
      [...this.names.keys()].map(async (host) => {
        try {
          this.names.set(host, new Set((await this.resolve(host)).map(sourceKeyOf)));
        } catch {
          failed.push(host);
        }
      }),
    );
    return failed;
  }
}
