package storetest

import (
	"context"
	"net/netip"
)

// TestResolver stands in for DNS in tests that register push endpoints:
// "localhost" resolves to 127.0.0.1, "metadata.internal.test" to
// 169.254.169.254 and "nurse-office.internal.test" to 10.0.0.5; every
// other name to a public address (so the push services tests name, like
// fcm.googleapis.com, resolve without a network).
type TestResolver struct{}

// PublicTestAddr is the address TestResolver gives every other name.
var PublicTestAddr = netip.MustParseAddr("142.250.74.10")

// LookupNetIP implements netguard.Resolver.
func (TestResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	switch host {
	case "localhost":
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}, nil
	case "metadata.internal.test":
		return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
	case "nurse-office.internal.test":
		return []netip.Addr{netip.MustParseAddr("10.0.0.5")}, nil
	}
	return []netip.Addr{PublicTestAddr}, nil
}
