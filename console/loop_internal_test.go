package console

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// TestLoopEndsWhenBotStops: when the bot stops on its own (Slack refused its token, say), the prompt
// loop returns the bot's error instead of waiting for input that may never come.
func TestLoopEndsWhenBotStops(t *testing.T) {
	s := &session{out: io.Discard, user: defaultPeople[0]}
	in, typeIn := io.Pipe()
	defer typeIn.Close()
	botDone := make(chan struct{})
	close(botDone)
	done := make(chan error, 1)
	go func() {
		done <- s.loop(context.Background(), scanLines{bufio.NewScanner(in)}, botDone, func() error { return errors.New("invalid_auth") })
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "the bot stopped: invalid_auth") {
			t.Fatalf("loop = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not return after the bot stopped")
	}
}
