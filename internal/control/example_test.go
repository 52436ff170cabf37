package control_test

import (
	"context"
	"fmt"
	"log"

	"github.com/lbd-project/lbd/internal/control"
)

// The daemon registers its methods and serves; each handler hands its work
// to the goroutine that owns the state. ipvsctl dials and calls.
func Example() {
	type drainParams struct {
		Service string `json:"service"`
		Server  string `json:"server"`
	}
	mux := control.NewMux()
	mux.Handle(control.MethodDrain, control.Typed(func(ctx context.Context, peer control.Peer, p drainParams) (any, error) {
		if p.Server == "" {
			return nil, control.Errorf(control.CodeInvalidParams, "drain: no server given")
		}
		return map[string]string{"drained": p.Server}, nil
	}))

	srv, err := control.Listen(control.DefaultPath)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	go srv.Serve(ctx, mux)

	c, err := control.Dial(control.DefaultPath)
	if err != nil {
		log.Fatal(err) // "lbd is not running (no control socket at /run/lbd/control.sock)"
	}
	defer c.Close()
	var res map[string]string
	err = c.Call(ctx, control.MethodDrain, drainParams{Service: "tcp 192.0.2.1:80", Server: "198.51.100.7:80"}, &res)
	if control.IsCode(err, control.CodeNotFound) {
		fmt.Println("no such server")
	}
	fmt.Println(res["drained"], err)
}
