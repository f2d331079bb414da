// Package ops is internbot's operator endpoints: /healthz (the process is alive and not on its way out
// after an error it cannot recover from), /readyz (Socket Mode
// is connected and the database takes writes) and /metrics (Prometheus), plus the client side of the
// Docker HEALTHCHECK, which has no curl to call. It takes its checks as functions and must not import
// another internbot package.
package ops

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one health or readiness condition: nil when met, else why not.
type Check func(ctx context.Context) error

// Handler serves /healthz (200 while every live check passes: the process is alive and not on its
// way out), /readyz (200 while every ready check passes) and /metrics.
func Handler(gatherer prometheus.Gatherer, live, ready map[string]Check) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", checkHandler(live, "ok"))
	mux.HandleFunc("GET /readyz", checkHandler(ready, "ready"))
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	return mux
}

// checkHandler answers 200 and ok when every check passes, else 503 and why not.
func checkHandler(checks map[string]Check, ok string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		var failed []string
		for name, check := range checks {
			if err := check(ctx); err != nil {
				failed = append(failed, name+": "+err.Error())
			}
		}
		if len(failed) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			for _, f := range failed {
				fmt.Fprintln(w, f)
			}
			return
		}
		fmt.Fprintln(w, ok)
	}
}

// Server is the operator endpoints' HTTP server: Listen opens it, Serve runs it.
type Server struct {
	ln  net.Listener
	srv *http.Server
	log *slog.Logger

	mu       sync.Mutex
	closed   bool           // no handler starts any more
	handlers sync.WaitGroup // the handlers running; Serve waits for them
}

// shutdownGrace is how long requests in flight get to finish once Serve's context ends; then their
// connections are closed. It is short: the bot has stopped by then, and the whole stop must stay
// within the time the README promises.
const shutdownGrace = 200 * time.Millisecond

// Listen opens the listener on addr for h. An addr without a host (":8080") listens on loopback only:
// /metrics is not for the network unless asked ("0.0.0.0:8080").
func Listen(addr string, h http.Handler, log *slog.Logger) (*Server, error) {
	if host, port, err := net.SplitHostPort(addr); err == nil && host == "" {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http listener: %w", err)
	}
	s := &Server{ln: ln, log: log}
	s.srv = &http.Server{Handler: s.track(h), ReadHeaderTimeout: 5 * time.Second}
	log.Info("http listening", "addr", ln.Addr().String())
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until ctx ends, then shuts down: requests in flight get shutdownGrace to finish, then
// their connections are closed. It returns once the server and every handler have ended: nil after a
// stop, else the error that stopped the server before ctx ended. Call it once.
func (s *Server) Serve(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(s.ln) }()
	var err error
	select {
	case err = <-served:
		err = fmt.Errorf("http: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		if serr := s.srv.Shutdown(sctx); serr != nil {
			s.log.Warn("http shutdown: closing the connections still open", "err", serr)
		}
		cancel()
		<-served // http.ErrServerClosed, at once
	}
	_ = s.srv.Close() // connections Shutdown left open, whose handlers' contexts then end
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.handlers.Wait()
	return err
}

// track makes every handler one Serve waits for; none starts once Serve is done.
func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		s.handlers.Add(1)
		s.mu.Unlock()
		defer s.handlers.Done()
		h.ServeHTTP(w, r)
	})
}

// Probe GETs url and returns nil on HTTP 200; it is the Docker HEALTHCHECK's client.
func Probe(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s %s", url, resp.Status, body)
	}
	return nil
}
