package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/bot"
	"github.com/internbot/internbot/slackemu"
	"github.com/internbot/internbot/storage"
)

// outageStore is the real store behind a disk that can fail (full: writes fail at once) or stall
// (writes hang until it is released), as a full or dying disk does.
type outageStore struct {
	*storage.DB
	down  atomic.Bool
	mu    sync.Mutex
	stall chan struct{}
}

func (s *outageStore) write(ctx context.Context) error {
	s.mu.Lock()
	stall := s.stall
	s.mu.Unlock()
	if stall != nil {
		select {
		case <-stall:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.down.Load() {
		return errors.New("disk I/O error: database or disk is full")
	}
	return nil
}

func (s *outageStore) ApplyReactions(ctx context.Context, evs []internbot.ReactionEvent) ([]internbot.ReactionResult, error) {
	if err := s.write(ctx); err != nil {
		return nil, err
	}
	return s.DB.ApplyReactions(ctx, evs)
}

func (s *outageStore) ReconcilePoll(ctx context.Context, pollID int64, present map[string][]string, asOf time.Time) (int, error) {
	if err := s.write(ctx); err != nil {
		return 0, err
	}
	return s.DB.ReconcilePoll(ctx, pollID, present, asOf)
}

func withOutageStore(s *outageStore) harnessOption {
	return withBotOptions(func(o *bot.Options) {
		s.DB = o.Store.(*storage.DB)
		o.Store = s
	})
}

// TestStorageOutage: while storage fails, commands keep answering within Slack's 3 seconds and
// reactions are not acked (nothing was stored). Slack redelivers an event only a few times, so once
// storage works again the bot must take in what it could not store by itself, without a reconnect
// and without a redelivery (the emulator sends none here).
func TestStorageOutage(t *testing.T) {
	t.Run("DiskFull", func(t *testing.T) {
		store := &outageStore{}
		h := newHarness(t, withOutageStore(store))
		p := h.postPoll(channel)
		conns := h.emu.Connections()

		store.down.Store(true)
		h.emu.SetReactionQuietly(member, channel, p.TS, yes, true)
		pd, err := h.emu.Send(context.Background(), h.emu.ReactionEvent(member, channel, p.TS, yes, true))
		if err != nil {
			t.Fatal(err)
		}
		h.eventually("the failed commit", func() bool { return strings.Contains(h.logs.String(), "not stored and not acked") })
		if r := h.slash(member, channel, "pay"); !strings.Contains(r.all(), "Pay") {
			t.Errorf("/internship pay during the outage answered %q", r.Text)
		}
		select {
		case <-pd.Done():
			t.Fatal("the reaction was acked though nothing was stored")
		default:
		}

		store.down.Store(false)
		h.eventually("the reaction taken in once storage works", func() bool { return h.answer(p, member) == "yes" })
		if got := h.emu.Connections(); got != conns {
			t.Errorf("%d connections, want %d: the recovery took a reconnect", got, conns)
		}
	})

	t.Run("Stalled", func(t *testing.T) {
		store := &outageStore{}
		h := newHarness(t, withOutageStore(store))
		p := h.postPoll(channel)
		conns := h.emu.Connections()

		stall := make(chan struct{})
		store.mu.Lock()
		store.stall = stall
		store.mu.Unlock()
		store.down.Store(true)
		// More reactions than the bot's queue holds, while its writer hangs on the disk.
		const n = 1500
		users := make([]string, n)
		for i := range users {
			users[i] = fmt.Sprintf("U0F%04d", i)
			h.emu.AddUser(slackemu.User{ID: users[i], Name: users[i]})
		}
		flooded := make(chan struct{})
		go func() {
			defer close(flooded)
			for _, u := range users {
				h.emu.SetReactionQuietly(u, channel, p.TS, maybe, true)
				if _, err := h.emu.Send(context.Background(), h.emu.ReactionEvent(u, channel, p.TS, maybe, true)); err != nil {
					return
				}
			}
		}()
		select {
		case <-flooded:
		case <-time.After(5 * time.Second):
			t.Error("sending the reactions took over 5 s: the bot stopped reading its socket")
		}
		start := time.Now()
		if r := h.slash(member, channel, "pay"); !strings.Contains(r.all(), "Pay") {
			t.Errorf("/internship pay during the outage answered %q", r.Text)
		}
		t.Logf("/internship pay acked in %v with the writer stalled", time.Since(start))

		store.down.Store(false)
		close(stall)
		<-flooded
		h.eventually("every reaction stored once storage works", func() bool {
			answers, err := h.db.Answers(context.Background(), p.ID)
			return err == nil && len(answers) == n
		})
		if got := h.emu.Connections(); got != conns {
			t.Errorf("%d connections, want %d: the recovery took a reconnect", got, conns)
		}
	})
}
