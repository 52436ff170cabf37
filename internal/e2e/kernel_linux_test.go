package e2e

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
	"github.com/mdlayher/genetlink"
	mnl "github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// addFou opens a GUE receive port in n (what `ip fou add port N gue`
// does; busybox ip has no fou), through the generic netlink fou family.
func addFou(t *testing.T, n *lab.Node, port uint16) {
	t.Helper()
	err := n.Do(func() error {
		c, err := genetlink.Dial(nil)
		if err != nil {
			return err
		}
		defer c.Close()
		fam, err := c.GetFamily("fou")
		if err != nil {
			return fmt.Errorf("generic netlink family fou: %w", err)
		}
		ae := mnl.NewAttributeEncoder()
		ae.Bytes(1, binary.BigEndian.AppendUint16(nil, port)) // FOU_ATTR_PORT, network order
		ae.Uint8(2, unix.AF_INET)                             // FOU_ATTR_AF
		ae.Uint8(4, 2)                                        // FOU_ATTR_TYPE: FOU_ENCAP_GUE
		data, err := ae.Encode()
		if err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Execute(genetlink.Message{
			Header: genetlink.Header{Command: 1, Version: fam.Version}, // FOU_CMD_ADD
			Data:   data,
		}, fam.ID, mnl.Request|mnl.Acknowledge)
		return err
	})
	if err != nil {
		skipOrFail(t, "cannot open a GUE port in the VM kernel (fou add port %d gue): %v", port, err)
	}
}

// nftables netlink constants (linux/netfilter/nf_tables.h, nfnetlink.h).
const (
	nfnlSubsysNftables = 10
	nfnlMsgBatchBegin  = 0x10
	nfnlMsgBatchEnd    = 0x11
	nftMsgNewTable     = 0
	nftMsgNewChain     = 3
	nftMsgNewRule      = 6
	nfprotoIPv4        = 2
	nfInetPreRouting   = 0
	nftReg1            = 1
	nftPayloadNetwork  = 1
	nftCmpEq           = 0
	nftMetaMark        = 3
)

// markVIP sets firewall mark on packets to vip arriving in n, with an
// nftables rule sent over netlink (the VM has the nf_tables module but no
// nft or iptables binary):
//
//	table ip lbd_e2e { chain pre { type filter hook prerouting priority mangle;
//	  ip daddr VIP meta mark set MARK } }
func markVIP(t *testing.T, n *lab.Node, vip string, mark uint32) {
	t.Helper()
	addr := netip.MustParseAddr(vip).As4()
	str := func(s string) []byte { return append([]byte(s), 0) }
	be32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	enc := func(fn func(ae *mnl.AttributeEncoder)) []byte {
		ae := mnl.NewAttributeEncoder()
		ae.ByteOrder = binary.BigEndian
		fn(ae)
		b, err := ae.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	expr := func(name string, data func(ae *mnl.AttributeEncoder)) func(ae *mnl.AttributeEncoder) {
		return func(ae *mnl.AttributeEncoder) {
			ae.Nested(1, func(ae *mnl.AttributeEncoder) error { // NFTA_LIST_ELEM
				ae.Bytes(1, str(name)) // NFTA_EXPR_NAME
				ae.Nested(2, func(ae *mnl.AttributeEncoder) error { data(ae); return nil })
				return nil
			})
		}
	}
	msg := func(typ uint16, flags mnl.HeaderFlags, family uint8, attrs []byte) mnl.Message {
		hdr := []byte{family, 0, 0, 0} // nfgenmsg: family, version, res_id
		if typ == nfnlMsgBatchBegin || typ == nfnlMsgBatchEnd {
			binary.BigEndian.PutUint16(hdr[2:], nfnlSubsysNftables)
		} else {
			typ |= nfnlSubsysNftables << 8
		}
		return mnl.Message{
			Header: mnl.Header{Type: mnl.HeaderType(typ), Flags: mnl.Request | flags},
			Data:   append(hdr, attrs...),
		}
	}
	create := mnl.Create | mnl.Acknowledge
	msgs := []mnl.Message{
		msg(nfnlMsgBatchBegin, 0, unix.AF_UNSPEC, nil),
		msg(nftMsgNewTable, create, nfprotoIPv4, enc(func(ae *mnl.AttributeEncoder) {
			ae.Bytes(1, str("lbd_e2e")) // NFTA_TABLE_NAME
		})),
		msg(nftMsgNewChain, create, nfprotoIPv4, enc(func(ae *mnl.AttributeEncoder) {
			ae.Bytes(1, str("lbd_e2e"))                         // NFTA_CHAIN_TABLE
			ae.Bytes(3, str("pre"))                             // NFTA_CHAIN_NAME
			ae.Nested(4, func(ae *mnl.AttributeEncoder) error { // NFTA_CHAIN_HOOK
				ae.Uint32(1, nfInetPreRouting) // NFTA_HOOK_HOOKNUM
				ae.Int32(2, -150)              // NFTA_HOOK_PRIORITY: mangle
				return nil
			})
			ae.Bytes(7, str("filter")) // NFTA_CHAIN_TYPE
		})),
		msg(nftMsgNewRule, create|mnl.Append, nfprotoIPv4, enc(func(ae *mnl.AttributeEncoder) {
			ae.Bytes(1, str("lbd_e2e"))                         // NFTA_RULE_TABLE
			ae.Bytes(2, str("pre"))                             // NFTA_RULE_CHAIN
			ae.Nested(4, func(ae *mnl.AttributeEncoder) error { // NFTA_RULE_EXPRESSIONS
				expr("payload", func(ae *mnl.AttributeEncoder) {
					ae.Bytes(1, be32(nftReg1))           // DREG
					ae.Bytes(2, be32(nftPayloadNetwork)) // BASE
					ae.Bytes(3, be32(16))                // OFFSET: IPv4 daddr
					ae.Bytes(4, be32(4))                 // LEN
				})(ae)
				expr("cmp", func(ae *mnl.AttributeEncoder) {
					ae.Bytes(1, be32(nftReg1))  // SREG
					ae.Bytes(2, be32(nftCmpEq)) // OP
					ae.Nested(3, func(ae *mnl.AttributeEncoder) error { ae.Bytes(1, addr[:]); return nil })
				})(ae)
				expr("immediate", func(ae *mnl.AttributeEncoder) {
					ae.Bytes(1, be32(nftReg1))                          // DREG
					ae.Nested(2, func(ae *mnl.AttributeEncoder) error { // DATA
						ae.Bytes(1, binary.NativeEndian.AppendUint32(nil, mark)) // VALUE: host order, as the mark
						return nil
					})
				})(ae)
				expr("meta", func(ae *mnl.AttributeEncoder) {
					ae.Bytes(2, be32(nftMetaMark)) // KEY
					ae.Bytes(3, be32(nftReg1))     // SREG
				})(ae)
				return nil
			})
		})),
		msg(nfnlMsgBatchEnd, 0, unix.AF_UNSPEC, nil),
	}
	err := n.Do(func() error {
		c, err := mnl.Dial(unix.NETLINK_NETFILTER, nil)
		if err != nil {
			return fmt.Errorf("open nfnetlink: %w", err)
		}
		defer c.Close()
		if _, err := c.SendMessages(msgs); err != nil {
			return fmt.Errorf("send nftables batch: %w", err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for acks := 0; acks < 3; {
			got, err := c.Receive()
			if err != nil {
				return fmt.Errorf("nftables batch: %w", err)
			}
			acks += len(got)
		}
		return nil
	})
	if err != nil {
		skipOrFail(t, "cannot set a firewall mark in the VM (no nft/iptables binary; nftables over netlink failed): %v", err)
	}
}

// skipOrFail skips a subtest whose kernel setup failed, except where the lab
// is required (CI), so a broken setup cannot pass as a skip there.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv(lab.RequiredEnv) == "1" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}
