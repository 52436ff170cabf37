package lab

import (
	"io"
	"sync"
)

// SyncWriter serialises the writes of concurrent loggers to W, so that a
// test can collect the log lines of several goroutines in one buffer.
type SyncWriter struct {
	mu sync.Mutex
	W  io.Writer
}

// Write implements io.Writer.
func (s *SyncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.W.Write(p)
}
