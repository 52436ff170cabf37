package ipvs

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

// wantAttrs compares decoded attributes with the expected payloads exactly:
// no attribute missing, none extra, every byte equal.
func wantAttrs(t *testing.T, what string, got, want map[uint16][]byte) {
	t.Helper()
	for typ, w := range want {
		if g, ok := got[typ]; !ok {
			t.Errorf("%s: attribute %d missing", what, typ)
		} else if !bytes.Equal(g, w) {
			t.Errorf("%s: attribute %d = % x, want % x", what, typ, g, w)
		}
	}
	for typ, g := range got {
		if _, ok := want[typ]; !ok {
			t.Errorf("%s: unexpected attribute %d = % x", what, typ, g)
		}
	}
}

func TestOpenWithoutIPVS(t *testing.T) {
	k := &fakeKernel{noIPVS: true}
	_, err := open(func() (*netlink.Conn, error) { return nltest.Dial(k.fn), nil })
	if !errors.Is(err, ErrNotSupported) {
		t.Fatalf("open: %v, want ErrNotSupported", err)
	}
	if want := "ipvs: kernel has no IPVS (modprobe ip_vs)"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestNewServiceAttributes(t *testing.T) {
	tests := []struct {
		name string
		svc  Service
		want map[uint16][]byte
	}{{
		name: "IPv4 persistent with netmask",
		svc: Service{Protocol: TCP, Address: netip.MustParseAddr("192.0.2.10"), Port: 443,
			Scheduler: "sh", SchedFlags: SHPort, Persistent: true, Timeout: 600, Netmask: 24},
		want: map[uint16][]byte{
			svcAF: u16(unix.AF_INET), svcProtocol: u16(6), svcAddr: in16("192.0.2.10"), svcPort: n16(443),
			svcSchedName: str("sh"), svcFlags: flagsAttr(svcFlagPersistent | svcFlagSched2),
			svcTimeout: u32(600), svcNetmask: n32(0xffffff00),
		},
	}, {
		name: "IPv6 persistent default timeout, prefix netmask, pe",
		svc: Service{Protocol: UDP, Address: netip.MustParseAddr("2001:db8::1"), Port: 5060,
			Scheduler: "rr", Persistent: true, Netmask: 64, PEName: "sip", OnePacket: true},
		want: map[uint16][]byte{
			svcAF: u16(unix.AF_INET6), svcProtocol: u16(17), svcAddr: in16("2001:db8::1"), svcPort: n16(5060),
			svcSchedName: str("rr"), svcFlags: flagsAttr(svcFlagPersistent | svcFlagOnePacket),
			svcTimeout: u32(360), svcNetmask: u32(64), svcPEName: str("sip"),
		},
	}, {
		name: "fwmark defaults",
		svc:  Service{FWMark: 7},
		want: map[uint16][]byte{
			svcAF: u16(unix.AF_INET), svcFWMark: u32(7), svcSchedName: str("wlc"),
			svcFlags: flagsAttr(0), svcTimeout: u32(0), svcNetmask: n32(0xffffffff),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &fakeKernel{}
			c := k.dial(t, 0)
			if err := c.NewService(context.Background(), tt.svc); err != nil {
				t.Fatal(err)
			}
			if len(k.requests) != 1 {
				t.Fatalf("%d requests, want 1", len(k.requests))
			}
			req := k.requests[0]
			if req.Header.Command != cmdNewService || req.Header.Version != 1 {
				t.Errorf("header %+v, want NEW_SERVICE version 1", req.Header)
			}
			if k.flags[0] != netlink.Request|netlink.Acknowledge {
				t.Errorf("flags %v, want request|ack", k.flags[0])
			}
			top := attrMap(t, req.Data)
			if len(top) != 1 {
				t.Errorf("top-level attributes %v, want only the service", top)
			}
			wantAttrs(t, "service", attrMap(t, top[attrService]), tt.want)
		})
	}
}

func TestNewDestinationTunnelGUE(t *testing.T) {
	k := &fakeKernel{}
	c := k.dial(t, 0)
	d := Destination{Address: netip.MustParseAddr("198.51.100.7"), Port: 80, ForwardMethod: Tunnel,
		Weight: 5, TunnelType: GUE, TunnelPort: 6080, TunnelFlags: 0}
	if err := c.NewDestination(context.Background(), web, d); err != nil {
		t.Fatal(err)
	}
	req := k.requests[0]
	if req.Header.Command != cmdNewDest {
		t.Errorf("command %d, want NEW_DEST", req.Header.Command)
	}
	top := attrMap(t, req.Data)
	// Destination commands identify the service only.
	wantAttrs(t, "service", attrMap(t, top[attrService]), map[uint16][]byte{
		svcAF: u16(unix.AF_INET), svcProtocol: u16(6), svcAddr: in16("192.0.2.10"), svcPort: n16(80),
	})
	wantAttrs(t, "destination", attrMap(t, top[attrDest]), map[uint16][]byte{
		destAddr: in16("198.51.100.7"), destPort: n16(80), destAddrFamily: u16(unix.AF_INET),
		destFwdMethod: u32(2), destWeight: u32(5), destUThresh: u32(0), destLThresh: u32(0),
		destTunType: u8(1), destTunPort: n16(6080), destTunFlags: u16(0),
	})
}

func TestDeleteDestinationSendsIdentity(t *testing.T) {
	k := &fakeKernel{}
	c := k.dial(t, 0)
	if err := c.DeleteDestination(context.Background(), web, rs1); err != nil {
		t.Fatal(err)
	}
	top := attrMap(t, k.requests[0].Data)
	wantAttrs(t, "destination", attrMap(t, top[attrDest]), map[uint16][]byte{
		destAddr: in16("192.0.2.15"), destPort: n16(80), destAddrFamily: u16(unix.AF_INET),
	})
}

func TestKernelErrorNamesOperation(t *testing.T) {
	k := &fakeKernel{handle: func(genetlink.Message) ([]genetlink.Message, unix.Errno) { return nil, unix.EEXIST }}
	c := k.dial(t, 0)
	err := c.NewDestination(context.Background(), web, rs1)
	if want := "ipvs: add destination 192.0.2.15:80 to TCP 192.0.2.10:80: file exists"; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	if !errors.Is(err, unix.EEXIST) || !errors.Is(err, os.ErrExist) {
		t.Errorf("errors.Is EEXIST/ErrExist false for %v", err)
	}
	var oe *OpError
	if !errors.As(err, &oe) || oe.Op != "add destination" {
		t.Errorf("not an *OpError with the operation: %#v", err)
	}
	// The socket is still usable: the error was the kernel's answer.
	k.handle = nil
	if err := c.DeleteService(context.Background(), web); err != nil {
		t.Errorf("next request: %v", err)
	}
}

func TestValidationBeforeAnyMessage(t *testing.T) {
	k := &fakeKernel{}
	c := k.dial(t, 0)
	bad := rs1
	bad.Weight = -1
	err := c.NewDestination(context.Background(), web, bad)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v, want *ValidationError", err)
	}
	if len(k.requests) != 0 {
		t.Errorf("%d requests sent for an invalid destination", len(k.requests))
	}
}

func TestDump(t *testing.T) {
	fwm := Service{Family: IPv6, FWMark: 3, Scheduler: "mh", SchedFlags: MHFallback}
	tun := Destination{Address: netip.MustParseAddr("192.0.2.99"), ForwardMethod: Tunnel, Weight: 2, TunnelType: GRE, TunnelFlags: TunnelCsum}
	rs2 := Destination{Address: netip.MustParseAddr("192.0.2.14"), Port: 8080, ForwardMethod: Route, Weight: 0, UpperThreshold: 10, LowerThreshold: 5}
	k := &fakeKernel{}
	k.handle = func(req genetlink.Message) ([]genetlink.Message, unix.Errno) {
		switch req.Header.Command {
		case cmdGetService:
			// Kernel order is hash order; Dump sorts.
			return []genetlink.Message{serviceMsg(t, fwm, Stats{}), serviceMsg(t, web, Stats{Conns: 1 << 40, InBytes: 7})}, 0
		case cmdGetDest:
			s, err := decodeServiceKeyOnly(attrMap(t, req.Data)[attrService])
			if err != nil {
				t.Errorf("GET_DEST service: %v", err)
			}
			if s.FWMark == 3 {
				return []genetlink.Message{destMsg(t, tun, 0)}, 0
			}
			return []genetlink.Message{destMsg(t, rs2, 0), destMsg(t, rs1, 42)}, 0
		}
		return nil, unix.EINVAL
	}
	c := k.dial(t, 0)
	got, err := c.Dump(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var want Table
	want.Add(web, rs2, rs1)
	want.Add(fwm, tun)
	want.Sort()
	if p := Diff(want, got); len(p.Changes) != 0 {
		t.Errorf("dump differs from what the kernel holds:\n%s", p)
	}
	if len(got.Services) != 2 || got.Services[0].Key() != web.Key() {
		t.Fatalf("services %+v, want web first", got.Services)
	}
	if got.Services[0].Stats.Conns != 1<<40 || got.Services[0].Stats.InBytes != 7 {
		t.Errorf("stats %+v", got.Services[0].Stats)
	}
	d := got.Services[0].Destinations
	if len(d) != 2 || d[1].Address != rs1.Address || d[1].ActiveConns != 42 {
		t.Errorf("destinations %+v, want rs1 (42 active) second", d)
	}
	for i, req := range k.requests {
		if k.flags[i]&netlink.Dump == 0 {
			t.Errorf("request %d (cmd %d) is not a dump", i, req.Header.Command)
		}
	}
}

// decodeServiceKeyOnly decodes a service nest that carries only identity.
func decodeServiceKeyOnly(b []byte) (Service, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(svcFlags, make([]byte, 8))
	extra, _ := ae.Encode()
	e, err := decodeService(append(append([]byte{}, b...), extra...))
	return e.Service, err
}

func TestApplyMapsAcksToChanges(t *testing.T) {
	for _, reverse := range []bool{false, true} {
		name := "in order"
		if reverse {
			name = "acks reversed"
		}
		t.Run(name, func(t *testing.T) {
			var desired Table
			desired.Add(web,
				Destination{Address: netip.MustParseAddr("192.0.2.11"), Port: 80, Weight: 1},
				Destination{Address: netip.MustParseAddr("192.0.2.12"), Port: 80, Weight: 1},
				Destination{Address: netip.MustParseAddr("192.0.2.13"), Port: 80, Weight: 1},
				Destination{Address: netip.MustParseAddr("192.0.2.14"), Port: 80, Weight: 1},
			)
			plan := Diff(desired, Table{})
			if len(plan.Changes) != 5 {
				t.Fatalf("plan has %d changes, want 5", len(plan.Changes))
			}
			k := &fakeKernel{}
			k.handle = func(req genetlink.Message) ([]genetlink.Message, unix.Errno) {
				d := attrMap(t, attrMap(t, req.Data)[attrDest])
				if bytes.Equal(d[destAddr], in16("192.0.2.13")) {
					return nil, unix.ENOENT
				}
				return nil, 0
			}
			c := k.dial(t, 2)
			if reverse {
				c.nl = nltest.Dial(reversingFn(k))
				c.genl = genetlink.NewConn(c.nl)
			}
			res, err := c.Apply(context.Background(), plan)
			if res.Messages != 5 || res.Batches != 3 || k.sends != 3 {
				t.Errorf("messages %d batches %d sendmsg %d, want 5, 3, 3", res.Messages, res.Batches, k.sends)
			}
			failed := res.Failed()
			if len(failed) != 1 || failed[0].Change.Destination == nil ||
				failed[0].Change.Destination.Address != netip.MustParseAddr("192.0.2.13") {
				t.Fatalf("failed %+v, want only 192.0.2.13", failed)
			}
			if !errors.Is(failed[0].Err, unix.ENOENT) {
				t.Errorf("failure %v, want ENOENT", failed[0].Err)
			}
			var ae *ApplyError
			if !errors.As(err, &ae) || ae.Failed != 1 || ae.Total != 5 || !errors.Is(err, unix.ENOENT) {
				t.Errorf("error %v, want ApplyError 1 of 5 wrapping ENOENT", err)
			}
			if !strings.Contains(err.Error(), "add destination 192.0.2.13:80 to TCP 192.0.2.10:80: no such file or directory") {
				t.Errorf("error %q does not name the failed change", err)
			}
		})
	}
}

// reversingFn hands out each batch's datagrams in reverse order, so a
// client that matched acks by position instead of sequence would misreport.
func reversingFn(k *fakeKernel) nltest.Func {
	return func(reqs []netlink.Message) ([]netlink.Message, error) {
		before := len(k.queue)
		out, err := k.fn(reqs)
		if reqs != nil {
			q := k.queue[before:]
			for i, j := 0, len(q)-1; i < j; i, j = i+1, j-1 {
				q[i], q[j] = q[j], q[i]
			}
		}
		return out, err
	}
}

func TestApplyEmptyPlanSendsNothing(t *testing.T) {
	k := &fakeKernel{}
	c := k.dial(t, 0)
	var tbl Table
	tbl.Add(web, rs1)
	res, err := c.Apply(context.Background(), Diff(tbl, tbl))
	if err != nil || res.Messages != 0 || k.sends != 0 || len(k.requests) != 0 {
		t.Errorf("err %v, messages %d, sendmsg %d: want nothing sent", err, res.Messages, k.sends)
	}
}

func TestApplyInvalidPlanSendsNothing(t *testing.T) {
	k := &fakeKernel{}
	c := k.dial(t, 0)
	bad := rs1
	bad.TunnelType = GUE
	plan := Plan{Changes: []Change{{Op: Add, Service: web}, {Op: Add, Service: web, Destination: &bad}}}
	res, err := c.Apply(context.Background(), plan)
	if err == nil || len(k.requests) != 0 || res.Messages != 0 {
		t.Fatalf("err %v, %d requests: want a validation error and nothing sent", err, len(k.requests))
	}
	var ve *ValidationError
	if !errors.As(res.Results[1].Err, &ve) {
		t.Errorf("result 1: %v, want validation error", res.Results[1].Err)
	}
	if !errors.Is(res.Results[0].Err, errNotSent) {
		t.Errorf("result 0: %v, want not sent", res.Results[0].Err)
	}
}

func TestApplyLostAcksRedials(t *testing.T) {
	dials := 0
	k := &fakeKernel{}
	c, err := open(func() (*netlink.Conn, error) { dials++; return nltest.Dial(k.fn), nil })
	if err != nil {
		t.Fatal(err)
	}
	c.batch = 2
	// The kernel takes the first batch but its acks never arrive.
	k.handle = func(genetlink.Message) ([]genetlink.Message, unix.Errno) { return nil, 0 }
	lose := true
	c.nl = nltest.Dial(func(reqs []netlink.Message) ([]netlink.Message, error) {
		out, err := k.fn(reqs)
		if reqs != nil && lose {
			k.queue = nil
		}
		return out, err
	})
	var desired Table
	desired.Add(web, rs1, Destination{Address: netip.MustParseAddr("192.0.2.16"), Port: 80})
	res, err := c.Apply(context.Background(), Diff(desired, Table{}))
	if err == nil {
		t.Fatal("no error for lost acks")
	}
	if res.Messages != 2 {
		t.Errorf("messages %d, want the first batch of 2", res.Messages)
	}
	for i, want := range []string{"outcome unknown", "outcome unknown", "not sent"} {
		if got := res.Results[i].Err; got == nil || !strings.Contains(got.Error(), want) {
			t.Errorf("result %d: %v, want %q", i, got, want)
		}
	}
	if c.nl != nil {
		t.Error("socket kept after a transport failure")
	}
	if err := c.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if dials != 2 {
		t.Errorf("%d dials, want a fresh socket after the failure", dials)
	}
}

func TestCanceledContextSendsNothing(t *testing.T) {
	k := &fakeKernel{}
	c := k.dial(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.NewService(ctx, web); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if len(k.requests) != 0 {
		t.Error("request sent with a canceled context")
	}
}

func TestInfo(t *testing.T) {
	k := &fakeKernel{handle: func(req genetlink.Message) ([]genetlink.Message, unix.Errno) {
		ae := netlink.NewAttributeEncoder()
		ae.Uint32(infoVersion, 0x010201)
		ae.Uint32(infoConnTabSize, 4096)
		b, _ := ae.Encode()
		return []genetlink.Message{{Header: genetlink.Header{Command: 14, Version: 1}, Data: b}}, 0
	}}
	c := k.dial(t, 0)
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Version.String() != "1.2.1" || info.ConnTableSize != 4096 {
		t.Errorf("info %+v, want 1.2.1 and 4096", info)
	}
	if k.requests[0].Header.Command != cmdGetInfo {
		t.Errorf("command %d, want GET_INFO", k.requests[0].Header.Command)
	}
}

func TestTimeouts(t *testing.T) {
	k := &fakeKernel{handle: func(req genetlink.Message) ([]genetlink.Message, unix.Errno) {
		if req.Header.Command != cmdGetConfig {
			return nil, 0
		}
		ae := netlink.NewAttributeEncoder()
		ae.Uint32(attrTimeoutTCP, 900)
		ae.Uint32(attrTimeoutTCPFin, 120)
		ae.Uint32(attrTimeoutUDP, 300)
		b, _ := ae.Encode()
		return []genetlink.Message{{Header: genetlink.Header{Command: cmdSetConfig, Version: 1}, Data: b}}, 0
	}}
	c := k.dial(t, 0)
	got, err := c.Timeouts(context.Background())
	if want := (Timeouts{900 * time.Second, 120 * time.Second, 300 * time.Second}); err != nil || got != want {
		t.Errorf("Timeouts = %+v, %v; want %+v", got, err, want)
	}
	if err := c.SetTimeouts(context.Background(), Timeouts{TCP: time.Hour, UDP: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	set := k.requests[1]
	if set.Header.Command != cmdSetConfig {
		t.Errorf("command %d, want SET_CONFIG", set.Header.Command)
	}
	// TCPFin is zero: left out so the kernel keeps it.
	wantAttrs(t, "set config", attrMap(t, set.Data), map[uint16][]byte{attrTimeoutTCP: u32(3600), attrTimeoutUDP: u32(30)})
	if err := c.SetTimeouts(context.Background(), Timeouts{TCP: 1500 * time.Millisecond}); err == nil {
		t.Error("fractional timeout accepted")
	}
	if len(k.requests) != 2 {
		t.Errorf("%d requests, want none for the invalid timeout", len(k.requests))
	}
}

func TestSyncDaemons(t *testing.T) {
	master := SyncDaemon{State: Master, McastIfn: "eth1", SyncID: 9, SyncMaxLen: 1400,
		McastGroup: netip.MustParseAddr("ff02::8"), McastPort: 8848, McastTTL: 2}
	k := &fakeKernel{handle: func(req genetlink.Message) ([]genetlink.Message, unix.Errno) {
		if req.Header.Command != cmdGetDaemon {
			return nil, 0
		}
		m, _ := message(cmdNewDaemon, func(ae *netlink.AttributeEncoder) { encodeDaemon(ae, master, true) })
		return []genetlink.Message{m}, 0
	}}
	c := k.dial(t, 0)
	if err := c.StartSyncDaemon(context.Background(), master); err != nil {
		t.Fatal(err)
	}
	wantAttrs(t, "daemon", attrMap(t, attrMap(t, k.requests[0].Data)[attrDaemon]), map[uint16][]byte{
		daemonState: u32(1), daemonMcastIfn: str("eth1"), daemonSyncID: u32(9), daemonSyncMaxLen: u16(1400),
		daemonMcastGroup6: netip.MustParseAddr("ff02::8").AsSlice(), daemonMcastPort: u16(8848), daemonMcastTTL: u8(2),
	})
	if err := c.StopSyncDaemon(context.Background(), Backup); err != nil {
		t.Fatal(err)
	}
	wantAttrs(t, "stop", attrMap(t, attrMap(t, k.requests[1].Data)[attrDaemon]), map[uint16][]byte{daemonState: u32(2)})
	got, err := c.SyncDaemons(context.Background())
	if err != nil || len(got) != 1 || got[0] != master {
		t.Errorf("SyncDaemons = %+v, %v; want [%+v]", got, err, master)
	}
	if err := c.StartSyncDaemon(context.Background(), SyncDaemon{State: Master}); err == nil {
		t.Error("daemon without interface accepted")
	}
}

func TestFlushAndZero(t *testing.T) {
	k := &fakeKernel{}
	c := k.dial(t, 0)
	ctx := context.Background()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Zero(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.ZeroService(ctx, web); err != nil {
		t.Fatal(err)
	}
	cmds := []uint8{cmdFlush, cmdZero, cmdZero}
	for i, want := range cmds {
		if got := k.requests[i].Header.Command; got != want {
			t.Errorf("request %d: command %d, want %d", i, got, want)
		}
	}
	if len(k.requests[1].Data) != 0 {
		t.Error("zero-all carries attributes")
	}
	if _, ok := attrMap(t, k.requests[2].Data)[attrService]; !ok {
		t.Error("zero of one service carries no service")
	}
}
