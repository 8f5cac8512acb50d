import { isIPv4, isIPv6 } from 'node:net';

/**
 * How many leading bits of an IPv6 address name one client. One subscriber usually holds a whole
 * /56 or /64, so counting single IPv6 addresses would let it rotate through 2^64 of them.
 */
export const IPV6_CLIENT_PREFIX_BITS = 56;

/** Expands an IPv6 address (`::` and an embedded IPv4 tail included) into its eight 16-bit groups. */
function ipv6Groups(address: string): number[] {
  let text = address.split('%')[0] as string;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = (tail[1] as string).split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros = rest === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16));
}

/**
 * The client an address belongs to, as the login throttle counts it: an IPv4 address as it is (an
 * IPv4-mapped IPv6 address included), an IPv6 address as its /56 network.
 *
 * @param address - `req.ip` (already resolved through the trusted proxies).
 * @example clientOf('2001:db8:1:2:3:4:5:6') // '2001:db8:1:0:0:0:0:0/56'
 */
export function clientOf(address: string): string {
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return `other:${address.slice(0, 64)}`;
  const groups = ipv6Groups(address);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [high, low] = [groups[6] as number, groups[7] as number];
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  const masked = groups.map((group, index) => {
    const bits = Math.min(16, Math.max(0, IPV6_CLIENT_PREFIX_BITS - index * 16));
    return bits === 0 ? 0 : group & (0xffff << (16 - bits)) & 0xffff;
  });
  return `${masked.map((g) => g.toString(16)).join(':')}/${IPV6_CLIENT_PREFIX_BITS}`;
}
