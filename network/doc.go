// Package network gives a sandbox an egress-controlled network: a network
// namespace joined to a host bridge by a veth pair, an address from an
// operator subnet (IPAM state behind the Leases interface), a default route
// via the bridge, source NAT out of every other interface, and a
// per-container nftables policy enforced on the host, where the workload
// cannot change it.
//
// Objects (all owned by one Manager, named so Reconcile can find orphans):
//
//   - the bridge Config.BridgeName holding the gateway address (the first
//     host address of Config.Subnet);
//   - per container: the named namespace Config.NetnsDir/<id>, the host veth
//     "nuc<hash>" (its alias is the container id), a lease, the nftables
//     chain "c-<hash>" and sets "cidr-<hash>", "dns-<hash>", "port-<hash>",
//     rules tagged with the id (rule user data), the resolver's state and
//     the published-port listeners;
//   - the nftables tables Config.Table (family inet: forward, input, NAT)
//     and Config.Table (family bridge: anti-spoofing, container-to-container).
//
// Enforcement: forward traffic from the bridge jumps to the container's
// chain by source address (the bridge table drops frames whose source
// address is not the port's own, so the source identifies the container).
// The chain accepts destinations in the container's static CIDR set or its
// DNS-learned set (entries time out with the answer's TTL, capped), on the
// allowed ports when Policy.Ports is set, after dropping Config.AlwaysDeny
// (unless the destination is in Config.Exempt); everything else is counted
// and dropped. The input chain drops every packet from the bridge to the
// host except DNS to the gateway and replies. Policy.Mode ModeAll allows
// every destination outside AlwaysDeny; ModeNone allows none.
//
// DNS: a resolver on the gateway address, port 53 (udp and tcp), answers a
// container (identified by source address) only for names its policy
// allows, forwards those to Config.Upstream, adds each A answer to the
// container's DNS-learned set before replying, and answers NXDOMAIN (logged)
// otherwise. AAAA answers are removed: containers have IPv4 only.
//
// Published ports are TCP proxies in the manager's process listening on
// HostIP:HostPort (HostIP must be one of Config.PublishAddrs) and dialling
// the container; they exist while the Manager does, so a restarted daemon
// calls Restore for each live container.
//
// Recovery: Reconcile removes every interface, namespace, nftables object,
// lease and resolver entry that no live container owns, so a daemon killed
// at any point leaves nothing behind once it restarts.
package network
