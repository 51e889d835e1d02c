import { describe, expect, it } from 'vitest';
import { addressHost, MemberSources, sourceKeyOf } from './source-address';

describe('sourceKeyOf', () => {
  it('an IPv4 address is its own source; an IPv4-mapped IPv6 address is the IPv4 address', () => {
    expect(sourceKeyOf('203.0.113.7')).toBe('203.0.113.7');
    expect(sourceKeyOf('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(sourceKeyOf('::FFFF:203.0.113.7')).toBe('203.0.113.7');
  });

  it('every IPv6 address of one /64 is one source, in any spelling', () => {
    const a = sourceKeyOf('2001:db8:0:1::1');
    expect(a).toBe('2001:db8:0:1::/64');
    expect(sourceKeyOf('2001:0db8:0000:0001:ffff:ffff:ffff:fffe')).toBe(a);
    expect(sourceKeyOf('2001:db8:0:1:1234::5%eth0')).toBe(a);
    expect(sourceKeyOf('2001:db8:0:2::1')).not.toBe(a);
    expect(sourceKeyOf('::1')).toBe('0:0:0:0::/64');
    expect(sourceKeyOf('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
  });

  it('a missing or unparseable address is the one source "unknown"', () => {
    expect(sourceKeyOf(undefined)).toBe('unknown');
    expect(sourceKeyOf('not an address')).toBe('unknown');
  });
});

describe('MemberSources', () => {
  it('counts IP literals at once and names once resolved, keeping the last answer when a lookup fails', async () => {
    let answer: string[] | Error = ['198.51.100.4', '2001:db8:5::9'];
    const sources = new MemberSources(['http://192.0.2.1:7001', 'https://[2001:db8:9::1]:7002', 'https://r3.example:7003', 'not a url'], async () => {
      if (answer instanceof Error) throw answer;
      return answer;
    });
    expect(sources.has('192.0.2.1')).toBe(true);
    expect(sources.has('2001:db8:9:0::/64')).toBe(true);
    expect(sources.has('198.51.100.4')).toBe(false);
    expect(await sources.refresh()).toEqual([]);
    expect(sources.has('198.51.100.4')).toBe(true);
    expect(sources.has('2001:db8:5:0::/64')).toBe(true);
    answer = new Error('ENOTFOUND');
    expect(await sources.refresh()).toEqual(['r3.example']);
    expect(sources.has('198.51.100.4')).toBe(true);
    answer = ['198.51.100.5'];
    await sources.refresh();
    expect(sources.has('198.51.100.4')).toBe(false);
    expect(sources.has('198.51.100.5')).toBe(true);
  });

  it('addressHost takes the host of a membership address, without IPv6 brackets', () => {
    expect(addressHost('http://127.0.0.1:7001')).toBe('127.0.0.1');
    expect(addressHost('https://[::1]:7001')).toBe('::1');
    expect(addressHost('https://r1.example.org')).toBe('r1.example.org');
    expect(addressHost('::')).toBeUndefined();
  });
});
