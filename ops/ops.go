// Package ops is internbot's operator endpoints: /healthz (the process is alive and not on its way out
// after an error it cannot recover from), /readyz (Socket Mode
// is connected and the database takes writes) and /metrics (Prometheus), plus the client side of the
// Docker HEALTHCHECK, which has no curl to call. It takes its checks as functions and must not import
// another internbot package.
package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
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

// Serve listens on addr and serves h until ctx ends, then shuts down gracefully. It returns once the
// listener is open, with a channel that yields the server's final error. An addr without a host
// (":8080") listens on loopback only: /metrics is not for the network unless asked ("0.0.0.0:8080").
func Serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger) (net.Addr, <-chan error, error) {
	if host, port, err := net.SplitHostPort(addr); err == nil && host == "" {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("http listener: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn("http shutdown", "err", err)
		}
	}()
	log.Info("http listening", "addr", ln.Addr().String())
	return ln.Addr(), done, nil
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
