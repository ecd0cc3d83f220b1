package fetch

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// Cloud metadata endpoints, refused whatever the options say.
var (
	metadataAddrs = []netip.Addr{
		netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, …
		netip.MustParseAddr("fd00:ec2::254"),   // AWS over IPv6
	}
	metadataHosts = []string{"metadata.google.internal", "metadata.goog"}
)

// ValidateURL checks that raw is an absolute http or https URL with a host,
// as a source watcher's factory must before accepting a spec. It does not
// look at addresses (a name may resolve differently at fetch time).
func ValidateURL(raw string) error {
	if strings.TrimSpace(raw) == "" {
		return errors.New("required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a valid URL: %q", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w (got %q)", ErrScheme, u.Scheme)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("no host in %q", raw)
	}
	return nil
}

// ValidateOptions checks a spec's fetch options, so that a bad timeout is a
// config error rather than a failure at every check.
func ValidateOptions(f watchers.Fetch) error {
	if f.MaxBytes < 0 {
		return fmt.Errorf("max_bytes must not be negative (got %d)", f.MaxBytes)
	}
	if f.Timeout != "" {
		d, err := time.ParseDuration(f.Timeout)
		if err != nil {
			return fmt.Errorf("timeout: %q is not a duration like 30s", f.Timeout)
		}
		if d <= 0 {
			return fmt.Errorf("timeout must be positive (got %s)", f.Timeout)
		}
	}
	return nil
}

// checkURL applies the scheme rule and, for hosts given as literal
// addresses or known metadata names, the address rules, before any dial so
// that the error is clear.
func checkURL(u *url.URL, allowPrivate bool) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w (got %q)", ErrScheme, u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return errors.New("url has no host")
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	for _, m := range metadataHosts {
		if name == m {
			return fmt.Errorf("%w: %s is a cloud metadata endpoint", ErrForbiddenAddress, host)
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return CheckAddr(ip, allowPrivate)
	}
	return nil
}

// checkDialAddr checks the "ip:port" the dialer is about to connect to.
func checkDialAddr(address string, allowPrivate bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dial address %q", ErrForbiddenAddress, address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		// The dialer resolves names before Control runs; a name here means
		// a custom dial path we cannot vouch for.
		return fmt.Errorf("%w: dial address %q is not an IP", ErrForbiddenAddress, address)
	}
	return CheckAddr(ip, allowPrivate)
}

// CheckAddr reports whether ip may be fetched from: link-local and cloud
// metadata addresses never; private (RFC 1918, fc00::/7), loopback and
// unspecified addresses only when allowPrivate.
func CheckAddr(ip netip.Addr, allowPrivate bool) error {
	ip = ip.Unmap().WithZone("")
	for _, m := range metadataAddrs {
		if ip == m {
			return fmt.Errorf("%w: %s is a cloud metadata address", ErrForbiddenAddress, ip)
		}
	}
	switch {
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return fmt.Errorf("%w: %s is link-local", ErrForbiddenAddress, ip)
	case ip.IsMulticast():
		return fmt.Errorf("%w: %s is multicast", ErrForbiddenAddress, ip)
	case ip.Is4() && ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("%w: %s is broadcast", ErrForbiddenAddress, ip)
	}
	if allowPrivate {
		return nil
	}
	switch {
	case ip.IsLoopback():
		return fmt.Errorf("%w: %s is loopback (set fetch.allow_private to allow)", ErrForbiddenAddress, ip)
	case ip.IsPrivate():
		return fmt.Errorf("%w: %s is private (set fetch.allow_private to allow)", ErrForbiddenAddress, ip)
	case ip.IsUnspecified(), ip.Is4() && ip.As4()[0] == 0:
		// 0.0.0.0/8 reaches this host on Linux.
		return fmt.Errorf("%w: %s is unspecified (set fetch.allow_private to allow)", ErrForbiddenAddress, ip)
	}
	return nil
}
