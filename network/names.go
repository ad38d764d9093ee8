package network

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Host objects are named from a hash of the container id (interface names
// are at most 15 bytes); the id itself is in the host veth's alias and in
// the user data of every nftables rule, which is how Reconcile finds
// orphans.
const (
	vethPrefix = "nuc" // host side; the bridge table matches "nuc*"
	chainPref  = "c-"
	cidrPref   = "cidr-"
	dnsPref    = "dns-"
	portPref   = "port-"
)

var vethPattern = regexp.MustCompile(`^` + vethPrefix + `[0-9a-f]{10}$`)

// isVethName reports whether name is a host veth of this package.
func isVethName(name string) bool { return vethPattern.MatchString(name) }

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

func checkID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("network: container id %q: %w", id, errdefs.ErrInvalidArgument)
	}
	return nil
}

// idHash is 10 hex digits of the id's SHA-256.
func idHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:5])
}

func vethName(id string) string  { return vethPrefix + idHash(id) }
func chainName(id string) string { return chainPref + idHash(id) }
func cidrSet(id string) string   { return cidrPref + idHash(id) }
func dnsSet(id string) string    { return dnsPref + idHash(id) }
func portSet(id string) string   { return portPref + idHash(id) }

func (m *Manager) netnsPath(id string) string { return filepath.Join(m.cfg.NetnsDir, id) }

// tag is the user data marking a rule as id's.
func tag(id string) []byte { return []byte("nucleus:" + id) }

func tagID(userdata []byte) (string, bool) {
	const p = "nucleus:"
	if len(userdata) <= len(p) || string(userdata[:len(p)]) != p {
		return "", false
	}
	return string(userdata[len(p):]), true
}
