package script

import (
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestQueueRunsInOrder(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	// The sleep gives a later job every chance to overtake an earlier one.
	s := sh(t, `sleep 0.0$2; echo $1 >> `+log+`; [ $1 != 2 ]`)
	q := NewQueue(QueueConfig{Len: 8, Log: quiet()})
	for i := range 5 {
		if !q.Push("job "+strconv.Itoa(i), Spec{Argv: []string{s, strconv.Itoa(i), strconv.Itoa(5 - i)}}) {
			t.Fatalf("job %d dropped", i)
		}
	}
	q.Close(10 * time.Second)
	if b, _ := os.ReadFile(log); string(b) != "0\n1\n2\n3\n4\n" {
		t.Errorf("ran %q", b)
	}
	if st := q.Stats(); st != (QueueStats{Run: 5, Failed: 1}) {
		t.Errorf("stats %+v", st)
	}
}

// A full queue drops at once instead of blocking its caller; Close kills
// the running job once its wait is over and skips the queued ones.
func TestQueueFullAndClose(t *testing.T) {
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	pidFile := filepath.Join(dir, "pid")
	q := NewQueue(QueueConfig{Len: 1, Log: quiet()})
	q.Push("blocker", Spec{Argv: []string{sh(t, "sleep 30 & echo $! > "+pidFile+"; touch "+started+"; sleep 30")}})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("blocker did not start")
		}
	}
	ran := filepath.Join(dir, "ran")
	if !q.Push("queued", Spec{Argv: []string{"/usr/bin/touch", ran}}) {
		t.Fatal("queued job dropped")
	}
	start := time.Now()
	if q.Push("overflow", Spec{Argv: []string{"/bin/true"}}) {
		t.Fatal("overflow job accepted")
	}
	if el := time.Since(start); el > 100*time.Millisecond {
		t.Errorf("Push on a full queue took %v", el)
	}
	if st := q.Stats(); st.Dropped != 1 {
		t.Errorf("stats %+v", st)
	}

	start = time.Now()
	q.Close(200 * time.Millisecond)
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("Close took %v", el)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("a job queued behind the killed one ran after Close")
	}
	assertGone(t, readPID(t, pidFile))
	if q.Push("late", Spec{Argv: []string{"/bin/true"}}) {
		t.Error("Push after Close accepted")
	}
	if st := q.Stats(); st != (QueueStats{Run: 1, Failed: 1, Dropped: 3}) {
		t.Errorf("stats %+v", st)
	}
}
