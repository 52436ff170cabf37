package control

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParseRequest checks that decoding never panics, that a failure
// always has a known code, and that an accepted request survives
// encode → decode unchanged.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"method":"status","params":{"vs":"192.0.2.1:80"}}`,
		`{"id":18446744073709551615,"method":"drain","version":1}`,
		`{"id":18446744073709551616,"method":"x"}`,
		`{"id":1e3,"method":"x"}`,
		`{"method":"x","params":null,"id":null}`,
		`{"id":2,"method":"x","method":"y"}`,
		`{"id":2,"Method":"x"}`,
		`{"id":3,"method":"x","extra":{}}`,
		`{"id":4,"method":"x","version":1.0}`,
		`{"id":5,"method":"\u0000\ud800"}`,
		`{}`, `[]`, `null`, ``, `{`, "{\"id\":1,\"method\":\"a\"}\n{}",
		"\xff\xfe{", `{"id":1,"method":"a","params":[1,{"b":"c"}]}`,
	} {
		f.Add([]byte(s))
	}
	known := map[string]bool{CodeParseError: true, CodeInvalidRequest: true, CodeUnsupportedVersion: true}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, e := ParseRequest(line)
		if e != nil {
			if !known[e.Code] || e.Message == "" {
				t.Fatalf("%q: error %+v", line, e)
			}
			return
		}
		if req.Method == "" {
			t.Fatalf("%q: accepted without a method", line)
		}
		if req.Params != nil && !json.Valid(req.Params) {
			t.Fatalf("%q: params %q not valid JSON", line, req.Params)
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("%q: re-encode: %v", line, err)
		}
		again, e := ParseRequest(b)
		if e != nil {
			t.Fatalf("%q → %s: %v", line, b, e)
		}
		// Compare params by meaning: encoding compacts them.
		if again.ID != req.ID || again.Method != req.Method || again.Version != req.Version || !sameJSON(again.Params, req.Params) {
			t.Fatalf("%q: %+v, after round trip %+v", line, req, again)
		}
	})
}

func sameJSON(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

// FuzzHandle feeds a line through the server's request handling with the
// test methods: it never panics, and every response is one well-formed
// line with exactly one of result and error.
func FuzzHandle(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"method":"echo","params":{"text":"a","n":1}}`,
		`{"id":1,"method":"echo","params":{"n":"x"}}`,
		`{"id":1,"method":"echo","params":[]}`,
		`{"id":2,"method":"missing"}`,
		`{"id":3,"method":"panic"}`,
		`{"id":4,"method":"badresult"}`,
		`{"id":5,"method":"status","params":"\n"}`,
		`garbage`,
	} {
		f.Add([]byte(s))
	}
	s := &Server{}
	h := testMux(nil)
	f.Fuzz(func(t *testing.T, line []byte) {
		if req, e := ParseRequest(line); e == nil && req.Method == "hang" {
			return // blocks until its timeout
		}
		resp := s.handle(context.Background(), h, Peer{}, line)
		var buf bytes.Buffer
		if err := writeResponse(&buf, resp); err != nil {
			t.Fatalf("%q: encode response: %v", line, err)
		}
		out := buf.Bytes()
		if bytes.Count(out, []byte("\n")) != 1 || out[len(out)-1] != '\n' {
			t.Fatalf("%q: response %q is not one line", line, out)
		}
		var back Response
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q: response %q: %v", line, out, err)
		}
		if back.Version != Version || (back.Error == nil) == (back.Result == nil) {
			t.Fatalf("%q: response %q", line, out)
		}
	})
}
