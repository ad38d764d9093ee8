package network

import (
	"encoding/binary"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Small builders for the nftables expressions the rules use, so each rule
// reads as a list of matches followed by a verdict.

func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// matchMeta compares meta key with data (a shorter data is a prefix match,
// as nft's "iifname nuc*").
func matchMeta(key expr.MetaKey, op expr.CmpOp, data []byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: data},
	}
}

func iif(name string) []expr.Any { return matchMeta(expr.MetaKeyIIFNAME, expr.CmpOpEq, ifname(name)) }
func oif(name string) []expr.Any { return matchMeta(expr.MetaKeyOIFNAME, expr.CmpOpEq, ifname(name)) }
func notOif(name string) []expr.Any {
	return matchMeta(expr.MetaKeyOIFNAME, expr.CmpOpNeq, ifname(name))
}

// ipv4 matches IPv4 packets (in the inet family).
func ipv4() []expr.Any {
	return matchMeta(expr.MetaKeyNFPROTO, expr.CmpOpEq, []byte{unix.NFPROTO_IPV4})
}

// etherType matches the frame's protocol (bridge family).
func etherType(op expr.CmpOp, proto uint16) []expr.Any {
	return matchMeta(expr.MetaKeyPROTOCOL, op, binary.BigEndian.AppendUint16(nil, proto))
}

func l4proto(op expr.CmpOp, proto byte) []expr.Any {
	return matchMeta(expr.MetaKeyL4PROTO, op, []byte{proto})
}

// networkField loads len bytes at offset of the network header.
func networkField(offset, n uint32) expr.Any {
	return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: n}
}

const (
	ipv4SaddrOffset = 12
	ipv4DaddrOffset = 16
	arpSpaOffset    = 14 // sender protocol address in an Ethernet/IPv4 ARP packet
)

func matchAddr(offset uint32, op expr.CmpOp, a netip.Addr) []expr.Any {
	return []expr.Any{networkField(offset, 4), &expr.Cmp{Op: op, Register: 1, Data: a.AsSlice()}}
}

// matchPrefix matches an IPv4 field against a prefix.
func matchPrefix(offset uint32, p netip.Prefix) []expr.Any {
	mask := make([]byte, 4)
	binary.BigEndian.PutUint32(mask, ^uint32(0)<<(32-p.Bits()))
	return []expr.Any{
		networkField(offset, 4),
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Masked().Addr().AsSlice()},
	}
}

func lookup(offset uint32, set *nftables.Set, invert bool) []expr.Any {
	return []expr.Any{networkField(offset, 4), &expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID, Invert: invert}}
}

// dportIn matches a TCP or UDP destination port in set.
func dportIn(set *nftables.Set, invert bool) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID, Invert: invert},
	}
}

func dport(port uint16) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, port)},
	}
}

// ctEstablished matches replies and related packets.
func ctEstablished() []expr.Any {
	bits := expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binary.NativeEndian.AppendUint32(nil, bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

func counter() expr.Any { return &expr.Counter{} }

func verdict(k expr.VerdictKind) expr.Any { return &expr.Verdict{Kind: k} }

func gotoChain(name string) expr.Any { return &expr.Verdict{Kind: expr.VerdictGoto, Chain: name} }

func accept() expr.Any { return verdict(expr.VerdictAccept) }

func drop() expr.Any { return verdict(expr.VerdictDrop) }

// rule joins match groups and final expressions into one rule.
func rule(t *nftables.Table, c *nftables.Chain, tag []byte, parts ...[]expr.Any) *nftables.Rule {
	var exprs []expr.Any
	for _, p := range parts {
		exprs = append(exprs, p...)
	}
	return &nftables.Rule{Table: t, Chain: c, Exprs: exprs, UserData: tag}
}

func then(e ...expr.Any) []expr.Any { return e }

// intervalElements turns prefixes into the start/end element pairs of an
// interval set, merging overlaps (the kernel rejects them).
func intervalElements(prefixes []netip.Prefix) []nftables.SetElement {
	type span struct{ lo, hi uint64 } // [lo, hi)
	var spans []span
	for _, p := range prefixes {
		if !p.Addr().Is4() {
			continue
		}
		lo := uint64(binary.BigEndian.Uint32(p.Masked().Addr().AsSlice()))
		spans = append(spans, span{lo, lo + 1<<(32-p.Bits())})
	}
	sortSpans := func() {
		for i := 1; i < len(spans); i++ {
			for j := i; j > 0 && spans[j].lo < spans[j-1].lo; j-- {
				spans[j], spans[j-1] = spans[j-1], spans[j]
			}
		}
	}
	sortSpans()
	var merged []span
	for _, s := range spans {
		if n := len(merged); n > 0 && s.lo <= merged[n-1].hi {
			merged[n-1].hi = max(merged[n-1].hi, s.hi)
			continue
		}
		merged = append(merged, s)
	}
	var out []nftables.SetElement
	if len(merged) > 0 && merged[0].lo != 0 {
		out = append(out, nftables.SetElement{Key: make([]byte, 4), IntervalEnd: true})
	}
	for _, s := range merged {
		out = append(out, nftables.SetElement{Key: binary.BigEndian.AppendUint32(nil, uint32(s.lo))})
		if s.hi < 1<<32 {
			out = append(out, nftables.SetElement{Key: binary.BigEndian.AppendUint32(nil, uint32(s.hi)), IntervalEnd: true})
		}
	}
	return out
}
