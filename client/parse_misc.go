package client

import (
	"os"
	"strconv"
	"strings"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

// SecretDir is where --secret files appear inside the container.
const SecretDir = "/run/secrets"

// ParseSecret reads --secret NAME=FILE: FILE is read now and its bytes are
// sent; the container sees them at /run/secrets/NAME (mode 0400).
func ParseSecret(s string) (*nucleusv1.Secret, error) {
	name, file, ok := strings.Cut(s, "=")
	if !ok || name == "" || file == "" || strings.Contains(name, "/") {
		return nil, errdefs.InvalidArgument("invalid secret %q: want NAME=FILE", s)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, errdefs.InvalidArgument("secret %s: %v", name, err)
	}
	return &nucleusv1.Secret{Name: name, Data: data, Destination: SecretDir + "/" + name}, nil
}

// ParseLabels reads -l k=v values; a bare "k" has an empty value.
func ParseLabels(values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	labels := make(map[string]string, len(values))
	for _, v := range values {
		k, val, _ := strings.Cut(v, "=")
		if k == "" {
			return nil, errdefs.InvalidArgument("invalid label %q: want KEY=VALUE", v)
		}
		labels[k] = val
	}
	return labels, nil
}

// Networks are the network modes a container may ask for.
var Networks = []string{"none", "loopback", "sandbox", "egress", "host"}

// ParseNetwork checks a --network mode: none, loopback (gVisor's netstack,
// loopback only; sandbox is its old spelling), egress (an address on the
// daemon's bridge, outbound traffic by policy) or host. Whether the
// operator allows it is the daemon's decision.
func ParseNetwork(s string) (string, error) {
	for _, n := range Networks {
		if s == n {
			return s, nil
		}
	}
	return "", errdefs.InvalidArgument("invalid network %q: want none, loopback, egress or host", s)
}

// ParseTail reads --tail: "all" (nil) or a count of entries.
func ParseTail(s string) (*int64, error) {
	if s == "all" || s == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return nil, errdefs.InvalidArgument("invalid tail %q: want a number of lines or \"all\"", s)
	}
	return &n, nil
}
