package outbound

import "net/netip"

// refusedRange is a block of addresses a user's URL may not reach, or one
// that embeds an IPv4 address to judge instead.
type refusedRange struct {
	prefix netip.Prefix
	// name completes "host resolves to …".
	name string
	// embedded, if set, returns the IPv4 address that traffic to an address
	// of the range really reaches; that address is judged instead.
	embedded func(netip.Addr) netip.Addr
}

// refusedRanges are the special-purpose blocks of the IANA registries that
// are not reachable on the public internet, or reach the host's own
// network when asked. The first match names the refusal, so narrower
// blocks come first. IPv4-mapped addresses (::ffff:0:0/96) are unmapped
// before the table is used.
var refusedRanges = []refusedRange{
	{prefix: pfx("0.0.0.0/8"), name: "an unspecified address"},
	{prefix: pfx("10.0.0.0/8"), name: "a private address"},
	{prefix: pfx("100.64.0.0/10"), name: "a carrier-grade NAT address"},
	{prefix: pfx("127.0.0.0/8"), name: "a loopback address"},
	// Includes the cloud metadata endpoint 169.254.169.254.
	{prefix: pfx("169.254.0.0/16"), name: "a link-local address"},
	{prefix: pfx("172.16.0.0/12"), name: "a private address"},
	{prefix: pfx("192.0.0.0/24"), name: "an IETF protocol address"},
	{prefix: pfx("192.0.2.0/24"), name: "a documentation address"},
	{prefix: pfx("192.168.0.0/16"), name: "a private address"},
	{prefix: pfx("198.18.0.0/15"), name: "a benchmarking address"},
	{prefix: pfx("198.51.100.0/24"), name: "a documentation address"},
	{prefix: pfx("203.0.113.0/24"), name: "a documentation address"},
	{prefix: pfx("224.0.0.0/4"), name: "a multicast address"},
	{prefix: pfx("255.255.255.255/32"), name: "the broadcast address"},
	{prefix: pfx("240.0.0.0/4"), name: "a reserved address"},

	{prefix: pfx("::/128"), name: "an unspecified address"},
	{prefix: pfx("::1/128"), name: "a loopback address"},
	// Deprecated IPv4-compatible addresses (::a.b.c.d); no route uses them.
	{prefix: pfx("::/96"), name: "an IPv4-compatible address"},
	// NAT64 reaches the IPv4 address in the last 32 bits.
	{prefix: pfx("64:ff9b::/96"), embedded: func(a netip.Addr) netip.Addr {
		b := a.As16()
		return netip.AddrFrom4([4]byte(b[12:16]))
	}},
	{prefix: pfx("64:ff9b:1::/48"), name: "a local NAT64 address"},
	{prefix: pfx("100::/64"), name: "a discard-only address"},
	{prefix: pfx("2001::/32"), name: "a Teredo address"},
	{prefix: pfx("2001:db8::/32"), name: "a documentation address"},
	// 6to4 reaches the IPv4 address in bits 16 to 48.
	{prefix: pfx("2002::/16"), embedded: func(a netip.Addr) netip.Addr {
		b := a.As16()
		return netip.AddrFrom4([4]byte(b[2:6]))
	}},
	{prefix: pfx("3fff::/20"), name: "a documentation address"},
	// Includes the AWS metadata endpoint fd00:ec2::254.
	{prefix: pfx("fc00::/7"), name: "a private address"},
	{prefix: pfx("fe80::/10"), name: "a link-local address"},
	{prefix: pfx("fec0::/10"), name: "a site-local address"},
	{prefix: pfx("ff00::/8"), name: "a multicast address"},
}

// globalUnicast is the only IPv6 block IANA allocates for the public
// internet; any other IPv6 address not named above is refused as well.
var globalUnicast = pfx("2000::/3")

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
