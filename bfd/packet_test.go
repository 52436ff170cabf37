package bfd

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"
)

// upPacket is an Up packet as BIRD 2 sends it: version 1, diag 0, state
// Up, detect mult 3, length 24, discriminators 0x01020304 / 0x0a0b0c0d,
// 100 ms / 100 ms, echo 0.
const upPacket = "20c0031801020304" + "0a0b0c0d" + "000186a0" + "000186a0" + "00000000"

func mustHex(t testing.TB, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUnmarshal(t *testing.T) {
	c, r := Unmarshal(mustHex(t, upPacket))
	want := Control{State: StateUp, DetectMult: 3, Length: 24, MyDiscr: 0x01020304, YourDiscr: 0x0a0b0c0d,
		DesiredMinTx: 100 * time.Millisecond, RequiredMinRx: 100 * time.Millisecond}
	if r != ReasonNone || c != want {
		t.Fatalf("got %+v %v, want %+v", c, r, want)
	}
	if got := hex.EncodeToString(c.Marshal(nil)); got != upPacket {
		t.Errorf("marshal %s, want %s", got, upPacket)
	}
	all := Control{Diag: DiagAdminDown, State: StateInit, Poll: true, CPI: true, Demand: true, DetectMult: 1,
		MyDiscr: 1, YourDiscr: 2, DesiredMinTx: time.Second, RequiredMinRx: 2 * time.Second, RequiredMinEchoRx: time.Millisecond}
	back, r := Unmarshal(all.Marshal(nil))
	all.Length = HeaderLen
	if r != ReasonNone || back != all {
		t.Errorf("round trip %+v %v, want %+v", back, r, all)
	}
}

// TestUnmarshalDrops checks each reception check of RFC 5880 section
// 6.8.6 on a packet otherwise valid.
func TestUnmarshalDrops(t *testing.T) {
	edit := func(f func(b []byte) []byte) []byte { return f(mustHex(t, upPacket)) }
	for _, tc := range []struct {
		name string
		b    []byte
		want DropReason
	}{
		{"empty", nil, ReasonLength},
		{"version 0", edit(func(b []byte) []byte { b[0] &^= 0xe0; return b }), ReasonVersion},
		{"version 2", edit(func(b []byte) []byte { b[0] = b[0]&0x1f | 2<<5; return b }), ReasonVersion},
		{"short datagram", edit(func(b []byte) []byte { return b[:23] }), ReasonLength},
		{"length 23", edit(func(b []byte) []byte { b[3] = 23; return b }), ReasonLength},
		{"length over datagram", edit(func(b []byte) []byte { b[3] = 30; return b }), ReasonLength},
		{"length 28 without auth", edit(func(b []byte) []byte { b[3] = 28; return append(b, 0, 0, 0, 0) }), ReasonLength},
		{"A bit with length 24", edit(func(b []byte) []byte { b[1] |= flagAuth; return b }), ReasonLength},
		{"A bit, simple password", edit(func(b []byte) []byte { b[1] |= flagAuth; b[3] = 28; return append(b, 1, 4, 1, 'x') }), ReasonAuth},
		{"detect mult 0", edit(func(b []byte) []byte { b[2] = 0; return b }), ReasonDetectMult},
		{"multipoint", edit(func(b []byte) []byte { b[1] |= flagMultipoint; return b }), ReasonMultipoint},
		{"my discriminator 0", edit(func(b []byte) []byte { copy(b[4:8], []byte{0, 0, 0, 0}); return b }), ReasonMyDiscr},
		{"your discriminator 0 while Up", edit(func(b []byte) []byte { copy(b[8:12], []byte{0, 0, 0, 0}); return b }), ReasonYourDiscr},
		{"your discriminator 0 while Init", edit(func(b []byte) []byte { copy(b[8:12], []byte{0, 0, 0, 0}); b[1] = byte(StateInit) << 6; return b }), ReasonYourDiscr},
	} {
		if _, r := Unmarshal(tc.b); r != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, r, tc.want)
		}
	}
	// accepted: Down or AdminDown with Your Discriminator 0, padding
	// after Length
	for _, st := range []State{StateDown, StateAdminDown} {
		b := mustHex(t, upPacket)
		copy(b[8:12], []byte{0, 0, 0, 0})
		b[1] = byte(st) << 6
		if _, r := Unmarshal(append(b, 0, 0)); r != ReasonNone {
			t.Errorf("%v with your discriminator 0: %v", st, r)
		}
	}
}

func TestReasonNames(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range append(DropReasons(), ReasonNone) {
		n := r.String()
		if n == "" || seen[n] {
			t.Errorf("reason %d: name %q empty or repeated", r, n)
		}
		seen[n] = true
	}
	if CheckTTL(255) != ReasonNone || CheckTTL(254) != ReasonTTL || CheckTTL(-1) != ReasonTTL {
		t.Error("CheckTTL")
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add(mustHex(f, upPacket))
	f.Add(mustHex(f, "20400318"+"00000001"+"00000000"+"000f4240"+"000f4240"+"00000000")) // Down, 1 s
	f.Add(append(mustHex(f, "20c4031c"+upPacket[8:]), 1, 4, 1, 'x'))
	f.Add([]byte{0x20})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, r := Unmarshal(b)
		if r != ReasonNone {
			if c != (Control{}) {
				t.Fatalf("dropped (%v) but returned %+v", r, c)
			}
			return
		}
		out := c.Marshal(nil)
		if !bytes.Equal(out, b[:HeaderLen]) {
			t.Fatalf("re-encoded\n %x\nfrom\n %x", out, b)
		}
		back, r := Unmarshal(out)
		if r != ReasonNone || back != c {
			t.Fatalf("round trip %+v (%v), want %+v", back, r, c)
		}
	})
}
