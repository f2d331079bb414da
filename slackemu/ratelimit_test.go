package slackemu_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/internbot/internbot/slackemu"
)

func TestEnforceRateLimits(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	emu := MustStart(t, slackemu.Options{Now: clock})
	for i := range 60 {
		emu.AddUser(slackemu.User{ID: fmt.Sprintf("U%03d", i), Name: fmt.Sprint("u", i)})
	}
	api := slack.New(emu.BotToken(), slack.OptionAPIURL(emu.APIURL()))
	open := func(i int) error {
		_, _, _, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{fmt.Sprintf("U%03d", i)}})
		return err
	}
	for i := range 51 {
		if err := open(i); err != nil {
			t.Fatalf("with tiers off, open %d: %v", i, err)
		}
	}
	emu.EnforceRateLimits(true)
	for i := range 50 { // Tier 3: 50 a minute
		if err := open(i); err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
	}
	mu.Lock()
	now = now.Add(20 * time.Second)
	mu.Unlock()
	var rl *slack.RateLimitedError
	if err := open(50); !errors.As(err, &rl) || rl.RetryAfter != 40*time.Second {
		t.Fatalf("the 51st call in a minute: %v, want 429 with Retry-After 40s", err)
	}
	if got := emu.RateLimited(); got != 1 {
		t.Errorf("RateLimited = %d, want 1", got)
	}
	mu.Lock()
	now = now.Add(40 * time.Second)
	mu.Unlock()
	if err := open(50); err != nil {
		t.Errorf("after Retry-After: %v", err)
	}
	// chat.postMessage: about one a second per channel.
	im := emu.IMChannel("U001")
	if _, _, err := api.PostMessage(im, slack.MsgOptionText("a", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessage(im, slack.MsgOptionText("b", false)); !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Errorf("second post in a second to one channel: %v, want 429 with Retry-After 1s", err)
	}
	if _, _, err := api.PostMessage(emu.IMChannel("U002"), slack.MsgOptionText("c", false)); err != nil {
		t.Errorf("a post to another channel: %v", err)
	}
}
