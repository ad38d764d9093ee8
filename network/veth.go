package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// containerIface is the container side's name inside its namespace.
const containerIface = "eth0"

// plumb creates id's veth pair with the container side in the namespace
// at path, addresses it, and routes the namespace's traffic via the bridge.
// Few netlink round trips: the host side is created up and its index comes
// back from LinkAdd; the peer is born as eth0 in the namespace (the name
// only has to be free there), so it needs no rename.
func (m *Manager) plumb(id, path string, addr netip.Addr) error {
	br, err := netlink.LinkByName(m.cfg.BridgeName)
	if err != nil {
		return fmt.Errorf("network: bridge %s: %w", m.cfg.BridgeName, err)
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("network: opening namespace %s: %w", path, err)
	}
	defer ns.Close()
	attrs := netlink.NewLinkAttrs()
	attrs.Name = vethName(id)
	attrs.MasterIndex = br.Attrs().Index
	attrs.Flags = net.FlagUp
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: containerIface, PeerNamespace: netlink.NsFd(int(ns))}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("network: creating veth %s: %w", attrs.Name, err)
	}
	if err := netlink.LinkSetAlias(veth, id); err != nil {
		return fmt.Errorf("network: naming veth %s: %w", attrs.Name, err)
	}
	if err := configureInside(ns, netip.PrefixFrom(addr, m.cfg.Subnet.Bits()), m.cfg.Gateway()); err != nil {
		return fmt.Errorf("network of container %s: %w", id, err)
	}
	return nil
}

// configureInside gives eth0 addr and brings it up with a default route
// via gw, all through a netlink socket opened in ns.
func configureInside(ns netns.NsHandle, addr netip.Prefix, gw netip.Addr) error {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in the namespace: %w", err)
	}
	defer h.Close()
	link, err := h.LinkByName(containerIface)
	if err != nil {
		return fmt.Errorf("peer %s: %w", containerIface, err)
	}
	a, err := netlink.ParseAddr(addr.String())
	if err != nil {
		return err
	}
	if err := h.AddrAdd(link, a); err != nil {
		return fmt.Errorf("address %s: %w", addr, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("bringing %s up: %w", containerIface, err)
	}
	route := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.IP(gw.AsSlice())}
	if err := h.RouteAdd(route); err != nil {
		return fmt.Errorf("default route via %s: %w", gw, err)
	}
	return nil
}

func (m *Manager) vethExists(id string) bool {
	_, err := netlink.LinkByName(vethName(id))
	return err == nil
}

// deleteVeth removes id's veth pair; a missing one is fine.
func (m *Manager) deleteVeth(id string) error { return deleteLink(vethName(id)) }

func deleteLink(name string) error {
	link, err := netlink.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("network: interface %s: %w", name, err)
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("network: deleting interface %s: %w", name, err)
	}
	return nil
}
