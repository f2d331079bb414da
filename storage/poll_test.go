package storage_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/internbot/internbot"
)

func TestCreatePoll(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db, clock := MustOpenDB(t)
		opts := slices.Clone(testOptions)
		p, err := db.CreatePoll(ctx, internbot.Poll{Channel: "C1", TS: "1.000001", Question: "Q?", CreatedBy: "UADMIN", Options: opts})
		if err != nil {
			t.Fatal(err)
		}
		if p.ID == 0 || !p.CreatedAt.Equal(clock.Now()) || p.Closed() {
			t.Errorf("created %+v", p)
		}
		opts[0].Answer = "changed later" // the poll keeps its own options
		got, err := db.PollByMessage(ctx, "C1", "1.000001")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != p.ID || got.Question != "Q?" || got.CreatedBy != "UADMIN" || !slices.Equal(got.Options, testOptions) || !got.CreatedAt.Equal(p.CreatedAt) {
			t.Errorf("PollByMessage = %+v, want %+v", got, p)
		}
		if a, ok := got.Answer("thinking_face"); !ok || a != "maybe" {
			t.Errorf("Answer(thinking_face) = %q, %v", a, ok)
		}
	})

	t.Run("ErrDuplicate", func(t *testing.T) {
		db, _ := MustOpenDB(t)
		p := internbot.Poll{Channel: "C1", TS: "1.000001", Options: testOptions}
		if _, err := db.CreatePoll(ctx, p); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreatePoll(ctx, p); !errors.Is(err, internbot.ErrDuplicate) {
			t.Fatalf("err = %v, want ErrDuplicate", err)
		}
		// Without a message ts yet, there is nothing to collide on.
		for range 2 {
			if _, err := db.CreatePoll(ctx, internbot.Poll{Channel: "C1", Options: testOptions}); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		db, _ := MustOpenDB(t)
		for _, p := range []internbot.Poll{
			{Options: testOptions},
			{Channel: "C1"},
			{Channel: "C1", Options: []internbot.PollOption{{Reaction: "x"}}},
			{Channel: "C1", Options: []internbot.PollOption{{Reaction: ":x:", Answer: "no"}}},
			{Channel: "C1", Options: []internbot.PollOption{{Reaction: "x", Answer: "no"}, {Reaction: "x", Answer: "nope"}}},
		} {
			if _, err := db.CreatePoll(ctx, p); !errors.Is(err, internbot.ErrInvalid) {
				t.Errorf("CreatePoll(%+v) = %v, want ErrInvalid", p, err)
			}
		}
	})
}

func TestPolls(t *testing.T) {
	ctx := context.Background()
	db, clock := MustOpenDB(t)

	for _, f := range []func(context.Context) (internbot.Poll, error){
		db.LatestPoll,
		func(ctx context.Context) (internbot.Poll, error) { return db.CurrentPoll(ctx, "C1") },
		func(ctx context.Context) (internbot.Poll, error) { return db.PollByMessage(ctx, "C1", "1.1") },
	} {
		if _, err := f(ctx); !errors.Is(err, internbot.ErrNotFound) {
			t.Errorf("empty db: err = %v, want ErrNotFound", err)
		}
	}

	create := func(channel, ts string) internbot.Poll {
		clock.Add(time.Minute)
		p, err := db.CreatePoll(ctx, internbot.Poll{Channel: channel, TS: ts, Options: testOptions})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := create("C1", "1.1")
	b := create("C2", "2.2")
	c := create("C1", "3.3")

	ids := func(ps []internbot.Poll) []int64 {
		var out []int64
		for _, p := range ps {
			out = append(out, p.ID)
		}
		return out
	}

	if p, err := db.CurrentPoll(ctx, "C1"); err != nil || p.ID != c.ID {
		t.Errorf("CurrentPoll(C1) = %d, %v; want %d", p.ID, err, c.ID)
	}
	if p, err := db.CurrentPoll(ctx, "C2"); err != nil || p.ID != b.ID {
		t.Errorf("CurrentPoll(C2) = %d, %v; want %d", p.ID, err, b.ID)
	}
	if p, err := db.LatestPoll(ctx); err != nil || p.ID != c.ID {
		t.Errorf("LatestPoll = %d, %v; want %d", p.ID, err, c.ID)
	}

	closedAt := clock.Add(time.Minute)
	closed, err := db.ClosePoll(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !closed.ClosedAt.Equal(closedAt) {
		t.Errorf("ClosedAt = %v, want %v", closed.ClosedAt, closedAt)
	}
	if p, err := db.CurrentPoll(ctx, "C1"); err != nil || p.ID != c.ID || !p.Closed() {
		t.Errorf("CurrentPoll after close = %+v, %v; want closed %d", p, err, c.ID)
	}
	if p, err := db.ClosePoll(ctx, c.ID); !errors.Is(err, internbot.ErrPollClosed) || p.ID != c.ID {
		t.Errorf("second ClosePoll = %+v, %v; want ErrPollClosed", p, err)
	}
	if _, err := db.ClosePoll(ctx, 99); !errors.Is(err, internbot.ErrNotFound) {
		t.Errorf("ClosePoll(99) = %v, want ErrNotFound", err)
	}

	open, err := db.OpenPolls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(open); !slices.Equal(got, []int64{a.ID, b.ID}) {
		t.Errorf("OpenPolls = %v", got)
	}
	all, err := db.Polls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(all); !slices.Equal(got, []int64{a.ID, b.ID, c.ID}) {
		t.Errorf("Polls = %v", got)
	}
	for _, p := range all {
		if !slices.Equal(p.Options, testOptions) {
			t.Errorf("poll %d options = %v", p.ID, p.Options)
		}
	}
}

func TestReopenPoll(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db, _ := MustOpenDB(t)
		p, err := db.CreatePoll(ctx, internbot.Poll{Channel: "C1", TS: "1.000001", Options: testOptions})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ClosePoll(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		got, err := db.ReopenPoll(ctx, p.ID)
		if err != nil || got.Closed() || got.ID != p.ID {
			t.Fatalf("ReopenPoll = %+v, %v; want it open", got, err)
		}
		open, err := db.OpenPolls(ctx)
		if err != nil || len(open) != 1 || open[0].ID != p.ID {
			t.Fatalf("OpenPolls = %+v, %v", open, err)
		}
		// Reopening an open poll changes nothing and is not an error.
		if again, err := db.ReopenPoll(ctx, p.ID); err != nil || again.Closed() {
			t.Errorf("second ReopenPoll = %+v, %v", again, err)
		}
	})

	t.Run("ErrSuperseded", func(t *testing.T) {
		db, _ := MustOpenDB(t)
		old, err := db.CreatePoll(ctx, internbot.Poll{Channel: "C1", TS: "1.000001", Options: testOptions})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ClosePoll(ctx, old.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreatePoll(ctx, internbot.Poll{Channel: "C1", TS: "2.000001", Options: testOptions}); err != nil {
			t.Fatal(err)
		}
		// A poll in another channel does not supersede it.
		if _, err := db.CreatePoll(ctx, internbot.Poll{Channel: "C2", TS: "3.000001", Options: testOptions}); err != nil {
			t.Fatal(err)
		}
		got, err := db.ReopenPoll(ctx, old.ID)
		if !errors.Is(err, internbot.ErrSuperseded) || !got.Closed() {
			t.Fatalf("ReopenPoll(old) = %+v, %v; want it closed and ErrSuperseded", got, err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		db, _ := MustOpenDB(t)
		if _, err := db.ReopenPoll(ctx, 99); !errors.Is(err, internbot.ErrNotFound) {
			t.Errorf("ReopenPoll(99) = %v, want ErrNotFound", err)
		}
	})
}

// TestReplacePoll: a new poll becomes its channel's only open one, in one transaction: the channel's
// open polls are closed and returned; other channels' polls are left alone.
func TestReplacePoll(t *testing.T) {
	ctx := context.Background()
	db, _ := MustOpenDB(t)
	old1, old2 := mustCreatePoll(t, db), mustCreatePoll(t, db) // two open ones in C1, as a race once left
	other, err := db.CreatePoll(ctx, internbot.Poll{Channel: "C2", TS: "1700000001.000001", Question: "q", Options: testOptions})
	if err != nil {
		t.Fatal(err)
	}
	p, closed, err := db.ReplacePoll(ctx, internbot.Poll{Channel: "C1", TS: "1700000002.000001", Question: "q", Options: testOptions})
	if err != nil {
		t.Fatal(err)
	}
	if len(closed) != 2 || closed[0].ID != old1.ID || closed[1].ID != old2.ID || !closed[0].Closed() || !closed[1].Closed() {
		t.Errorf("closed = %+v, want polls %d and %d, closed", closed, old1.ID, old2.ID)
	}
	open, err := db.OpenPolls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, o := range open {
		ids = append(ids, o.ID)
	}
	if want := []int64{other.ID, p.ID}; !slices.Equal(ids, want) {
		t.Errorf("open polls = %v, want %v", ids, want)
	}
	if _, _, err := db.ReplacePoll(ctx, internbot.Poll{Channel: "C1", TS: "1700000002.000001", Question: "q", Options: testOptions}); !errors.Is(err, internbot.ErrDuplicate) {
		t.Errorf("the same message again: %v, want ErrDuplicate", err)
	}
	if open, _ := db.OpenPolls(ctx); len(open) != 2 {
		t.Errorf("a failed replace closed polls: %d open, want 2", len(open))
	}
}
