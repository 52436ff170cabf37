//go:build !linux

package healthcheck

import "errors"

// Off Linux, TCP-based checks (TCP_CHECK, HTTP_GET, SSL_GET) and fwmark
// fail with a clear error rather than run on connect semantics they were
// not written for; the other checks use the net package and work anywhere.

func newProbeSocket(int, *socketPool) (*probeSocket, error) {
	return nil, errors.New("healthcheck: TCP checks need Linux (they rely on its connect semantics)")
}

func setMark(int, uint32) error {
	return errors.New("healthcheck: fwmark needs Linux (SO_MARK)")
}
