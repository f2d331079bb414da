package console_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/console"
)

type screen struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestConsole(t *testing.T) {
	in, typeIn := io.Pipe()
	out := &screen{}
	done := make(chan error, 1)
	go func() {
		done <- console.Run(context.Background(), console.Options{Config: config.Default(), In: in, Out: out})
	}()
	seen := 0
	// say types a line and waits until everything in want has been printed after it.
	say := func(line string, want ...string) {
		t.Helper()
		if _, err := io.WriteString(typeIn, line+"\n"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			screen := out.String()[seen:]
			missing := ""
			for _, w := range want {
				if !strings.Contains(screen, w) {
					missing = w
					break
				}
			}
			if missing == "" {
				seen = len(out.String())
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %q, the screen never showed %q:\n%s", line, missing, screen)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	say("help", "react :emoji:", "clock +1d", "as NAME")
	say("/internship pay", "only visible to you", "$12100 monthly")
	say("/internship details", "PhD Fall Machine Learning Intern", "=====", "Tensorflow, Pytorch, MLFlow")
	say("react :white_check_mark:", "no poll in #internship yet")
	say("/internship poll", "Posted the poll", "#internship · internbot", "Are you applying to the internship?")
	say("react :white_check_mark:", "*yes* 1 · *maybe* 0 · *no* 0 — 1 answer")
	say("as bob")
	say("/internship poll", "for admins")
	say("react :thinking_face:", "*yes* 1 · *maybe* 1")
	say("/internship me", "Your answer to the poll in #internship: *maybe*")
	say("reactions", ":thinking_face: @internbot, @bob", ":white_check_mark: @internbot, @alice")
	say("as alice")
	say("/internship results", "*yes*: @alice", "*maybe*: @bob")
	say("clock 2026-12-12T09:00", "the time is Sat Dec 12 2026 09:00 UTC")
	say("/internship deadline add 2026-12-15 Application deadline", "Added *Application deadline*")
	say("remind", "3 days left", "see the poll (https://", "DM · internbot", "You answered *yes*", "reminder job ran")
	say("clock +2d", "Mon Dec 14 2026")
	say("remind", "1 day left")
	say("as nobody", "no one is called")
	say("frob", "unknown command")
	say("quit")
	typeIn.Close()
	if err := <-done; err != nil {
		t.Fatalf("console: %v", err)
	}
}
