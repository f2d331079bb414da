package ops_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/internbot/internbot/ops"
)

// TestServeWaitsForHandlers: a request still in flight when the context ends gets the shutdown grace,
// then its connection is closed; Serve returns only once its handler has returned.
func TestServeWaitsForHandlers(t *testing.T) {
	entered, closing, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // the connection is closed under it
		close(closing)
		<-release
		finished.Store(true)
	})
	srv, err := ops.Listen("127.0.0.1:0", h, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	go func() {
		resp, err := http.Get("http://" + srv.Addr().String() + "/")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	cancel()
	<-closing
	// Serve has closed the connection; give it every chance to return early, as an untracked
	// handler would let it.
	for range 1000 {
		runtime.Gosched()
	}
	select {
	case <-served:
		t.Fatal("Serve returned while a handler was still running")
	default:
	}
	close(release)
	if err := <-served; err != nil {
		t.Fatalf("Serve = %v, want nil after a stop", err)
	}
	if !finished.Load() {
		t.Error("Serve returned while a handler was still running")
	}
}

// TestListenLoopbackByDefault: an address without a host listens on loopback only.
func TestListenLoopbackByDefault(t *testing.T) {
	srv, err := ops.Listen(":0", http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	defer srv.Serve(ctx)
	if ip := srv.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		t.Errorf("listening on %v, want loopback", srv.Addr())
	}
}
