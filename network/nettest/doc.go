// Package nettest builds the private networks the network tests run in, so
// no test packet ever leaves the machine and the host's own interfaces,
// routes and nftables ruleset are never touched:
//
//   - Main (call it from TestMain) re-executes the test binary as root in a
//     fresh network and mount namespace: everything the test does to
//     "the host" (bridge, NAT, nftables tables, the resolver) happens in a
//     namespace that vanishes with the process;
//   - NewInternet makes an "internet" namespace joined to a daemon
//     namespace (the current one by default) by an uplink veth, holding
//     test hosts: an HTTP server on every address below that answers with
//     the address it was reached on, and a DNS server with the test zone;
//   - InNetns, Dial, HTTPGet and Lookup act as a process inside a
//     container's namespace.
package nettest
