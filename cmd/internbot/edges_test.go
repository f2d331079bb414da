package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAPIURLCredentialsMasked: a proxy's user and password in SLACK_API_URL appear neither in
// check-config's output nor in run's "starting" log line.
func TestAPIURLCredentialsMasked(t *testing.T) {
	t.Run("CheckConfig", func(t *testing.T) {
		cmd := exec.Command(internbotBinary(t), "check-config")
		cmd.Env = []string{"SLACK_BOT_TOKEN=xoxb-1234-abcdefghijk", "SLACK_API_URL=http://proxyuser:proxypass@proxy.example:3128/api/"}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("check-config: %v\n%s", err, stderr.String())
		}
		out := stdout.String() + stderr.String()
		if strings.Contains(out, "proxyuser") || strings.Contains(out, "proxypass") {
			t.Errorf("check-config shows the URL's credentials:\n%s", out)
		}
		if !strings.Contains(out, "proxy.example:3128/api/") {
			t.Errorf("check-config does not show the URL's host:\n%s", out)
		}
	})
	t.Run("StartingLog", func(t *testing.T) {
		emu := startEmulator(t)
		e := emuEnv(emu, filepath.Join(t.TempDir(), "internbot.db"))
		u, err := url.Parse(e["SLACK_API_URL"])
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword("proxyuser", "proxypass")
		e["SLACK_API_URL"] = u.String()
		r := startRun(t, e)
		var apiURL string
		pollUntil(t, 10*time.Second, "the starting log line", func() bool {
			for _, l := range logLines(t, r.stderr.String()) {
				if l["msg"] == "starting" {
					apiURL, _ = l["api_url"].(string)
					return true
				}
			}
			return false
		}, r.stderr)
		if strings.Contains(apiURL, "proxyuser") || strings.Contains(apiURL, "proxypass") || !strings.Contains(apiURL, u.Host) {
			t.Errorf("starting: api_url = %q, want the host without the credentials", apiURL)
		}
		if strings.Contains(r.stderr.String(), "proxypass") {
			t.Errorf("the proxy password is in the logs:\n%s", r.stderr)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		// Go's HTTP client puts the URL in its errors with the user name (only the password is
		// hidden); the bot logs those errors while it waits for Slack.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nobody listens there: every call fails with a network error naming the URL
		e := env{"SLACK_BOT_TOKEN": "xoxb-1234-abcdefghijk", "SLACK_API_URL": "http://proxyuser:proxypass@" + addr + "/api/",
			"INTERNBOT_DB": filepath.Join(t.TempDir(), "internbot.db")}
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond) // one retry
		defer cancel()
		var stderr lockedBuffer
		err = run(ctx, []string{"internbot", "remind"}, e.get, nil, &bytes.Buffer{}, &stderr)
		out := stderr.String() + fmt.Sprint(err)
		if !strings.Contains(out, "cannot reach slack") || !strings.Contains(out, addr) {
			t.Fatalf("no log of the failed call to %s:\n%s", addr, out)
		}
		if strings.Contains(out, "proxyuser") || strings.Contains(out, "proxypass") {
			t.Errorf("an error shows the URL's credentials:\n%s", out)
		}
	})
}

// TestHTTPDefaultsToLoopback: an -http address without a host (":8080") listens on loopback only;
// every interface must be asked for ("0.0.0.0:8080").
func TestHTTPDefaultsToLoopback(t *testing.T) {
	emu := startEmulator(t)
	r := startRun(t, emuEnv(emu, filepath.Join(t.TempDir(), "internbot.db")), "-http", ":0")
	host, _, err := net.SplitHostPort(strings.TrimPrefix(httpBase(t, r), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("-http :0 listens on %s, want loopback only", host)
	}
}

// TestContainerRecipe: the image listens where the HEALTHCHECK looks, and the README's `docker run`
// publishes the health and metrics port on the host's loopback only.
func TestContainerRecipe(t *testing.T) {
	dockerfile, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	addr := regexp.MustCompile(`INTERNBOT_HTTP_ADDR=(\S+)`).FindSubmatch(dockerfile)
	check := regexp.MustCompile(`"healthcheck", "-url", "http://127\.0\.0\.1:(\d+)/healthz"`).FindSubmatch(dockerfile)
	if addr == nil || check == nil {
		t.Fatalf("the Dockerfile lacks INTERNBOT_HTTP_ADDR or the HEALTHCHECK")
	}
	host, port, err := net.SplitHostPort(string(addr[1]))
	if err != nil || port != string(check[1]) {
		t.Errorf("the image listens on %s but the HEALTHCHECK probes port %s", addr[1], check[1])
	}
	if host == "" {
		t.Errorf("the image's INTERNBOT_HTTP_ADDR %s has no host: that is loopback only, which a container cannot publish", addr[1])
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	publish := regexp.MustCompile(`(?:-p|--publish)[ =](\S+)`).FindAllSubmatch(readme, -1)
	if len(publish) == 0 {
		t.Fatal("the README's docker run publishes no port: not the recipe this test means")
	}
	for _, p := range publish {
		if !strings.HasPrefix(string(p[1]), "127.0.0.1:") {
			t.Errorf("the README publishes %s on every host interface; use -p 127.0.0.1:…", p[1])
		}
	}
	// The compose recipes too.
	composes, _ := filepath.Glob("../../deploy/*.yaml")
	for _, f := range composes {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, ports := range regexp.MustCompile(`ports:\s*\[([^\]]*)\]`).FindAllSubmatch(b, -1) {
			for _, p := range strings.Split(string(ports[1]), ",") {
				if p = strings.Trim(strings.TrimSpace(p), `"'`); !strings.HasPrefix(p, "127.0.0.1:") {
					t.Errorf("%s publishes %s on every host interface; use 127.0.0.1:…", filepath.Base(f), p)
				}
			}
		}
	}
}

// TestMisconfiguredURLFailsFast: an API URL that can never work (https to a server that speaks plain
// HTTP, as a wrong scheme in SLACK_API_URL gives) is not a network that is down: the start-up check
// fails with what is wrong instead of retrying until it is stopped.
func TestMisconfiguredURLFailsFast(t *testing.T) {
	emu := startEmulator(t)
	e := emuEnv(emu, filepath.Join(t.TempDir(), "internbot.db"))
	e["SLACK_API_URL"] = strings.Replace(e["SLACK_API_URL"], "http://", "https://", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stderr lockedBuffer
	err := run(ctx, []string{"internbot", "remind"}, e.get, nil, &bytes.Buffer{}, &stderr)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "HTTP response to HTTPS client") {
		t.Fatalf("remind = %v (context: %v), want the scheme problem at once\n%s", err, ctx.Err(), stderr.String())
	}
}
