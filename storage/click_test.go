package storage_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/internbot/internbot"
)

// step is one expression in a click/reaction interleaving: a reaction added or removed, a click,
// or the click forgotten, at time at (microseconds into the test's second).
type step struct {
	kind   string // "react", "unreact", "click", "forget"
	option int
	at     int
}

// The documented rule (storage/click.go): the newest standing expression wins; removing the
// reaction that gave the answer falls back to the newest remaining one, a click included; a click
// stands until a newer click replaces it or it is forgotten.
func TestClickReactionRule(t *testing.T) {
	const yes, maybe, no = 0, 1, 2
	cases := []struct {
		name  string
		steps []step
		want  string
	}{
		{"click alone", []step{{"click", maybe, 1}}, "maybe"},
		{"click after reaction", []step{{"react", yes, 1}, {"click", maybe, 2}}, "maybe"},
		{"reaction after click", []step{{"click", maybe, 1}, {"react", yes, 2}}, "yes"},
		{"removing the newer reaction falls back to the click", []step{{"click", maybe, 1}, {"react", yes, 2}, {"unreact", yes, 3}}, "maybe"},
		{"removing an older reaction keeps the click", []step{{"react", yes, 1}, {"click", maybe, 2}, {"unreact", yes, 3}}, "maybe"},
		{"newer click replaces older click", []step{{"click", maybe, 1}, {"click", no, 2}}, "no"},
		{"a replaced click does not come back", []step{{"click", maybe, 1}, {"react", yes, 2}, {"click", no, 3}, {"unreact", yes, 4}}, "no"},
		{"forgetting the click falls back to a reaction", []step{{"react", yes, 1}, {"click", maybe, 2}, {"forget", 0, 3}}, "yes"},
		{"forgetting the only click leaves no answer", []step{{"click", maybe, 1}, {"forget", 0, 2}}, ""},
		{"forgetting the click under a newer reaction changes nothing", []step{{"click", maybe, 1}, {"react", no, 2}, {"forget", 0, 3}}, "no"},
		{"removing every reaction leaves the click", []step{{"react", yes, 1}, {"react", no, 2}, {"click", maybe, 3}, {"unreact", no, 4}, {"unreact", yes, 5}}, "maybe"},
		{"a click delivered late loses to a newer reaction", []step{{"react", yes, 5}, {"click", maybe, 2}}, "yes"},
		{"an older click delivered late does not replace a newer one", []step{{"click", no, 5}, {"click", maybe, 2}}, "no"},
		{"same instant: the option listed first", []step{{"react", no, 3}, {"click", maybe, 3}}, "maybe"},
		// Each interaction runs on its own goroutine: a forget can be stored before an older click.
		{"a click older than the forget stays withdrawn", []step{{"click", maybe, 1}, {"forget", 0, 3}, {"click", no, 2}}, ""},
		{"a click older than a forget with no click before it stays withdrawn", []step{{"forget", 0, 3}, {"click", no, 2}}, ""},
		{"a click newer than the forget counts", []step{{"click", maybe, 1}, {"forget", 0, 2}, {"click", no, 3}}, "no"},
		{"a click at the forget's instant stays withdrawn", []step{{"forget", 0, 2}, {"click", no, 2}}, ""},
		{"a forget older than the click changes nothing", []step{{"click", maybe, 3}, {"forget", 0, 2}}, "maybe"},
		{"an older forget does not undo a newer forget", []step{{"forget", 0, 4}, {"forget", 0, 2}, {"click", no, 3}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := MustOpenDB(t)
			ctx := context.Background()
			p := mustCreatePoll(t, db)
			for i, s := range tc.steps {
				var err error
				switch s.kind {
				case "react", "unreact":
					_, err = db.ApplyReactions(ctx, []internbot.ReactionEvent{{EventID: ts(s.at) + s.kind, PollID: p.ID, User: "U1",
						Reaction: p.Options[s.option].Reaction, Added: s.kind == "react", EventTS: ts(s.at)}})
				case "click":
					_, err = db.ApplyClick(ctx, internbot.Click{PollID: p.ID, User: "U1", Option: s.option, MessageTS: p.TS, ActionTS: ts(s.at)})
				case "forget":
					_, err = db.ForgetClick(ctx, p.ID, "U1", ts(s.at))
				}
				if err != nil {
					t.Fatalf("step %d %v: %v", i, s, err)
				}
			}
			got := ""
			if a, err := db.AnswerOf(ctx, p.ID, "U1"); err == nil {
				got = a.Answer
			} else if !errors.Is(err, internbot.ErrNotFound) {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("answer %q, want %q", got, tc.want)
			}
			counts, err := db.Counts(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && counts[tc.want] != 1 || tc.want == "" && len(counts) != 0 {
				t.Fatalf("counts %v for answer %q", counts, tc.want)
			}
		})
	}
}

func TestApplyClick(t *testing.T) {
	ctx := context.Background()
	t.Run("DuplicateStoredOnce", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "internbot.db")
		db, _ := MustOpenDBAt(t, path)
		p := mustCreatePoll(t, db)
		c := internbot.Click{PollID: p.ID, User: "U1", Option: 1, MessageTS: p.TS, ActionTS: ts(1)}
		if r, err := db.ApplyClick(ctx, c); err != nil || r.Duplicate || r.Answer != "maybe" {
			t.Fatalf("first: %+v %v", r, err)
		}
		if _, err := db.ForgetClick(ctx, p.ID, "U1", ts(2)); err != nil {
			t.Fatal(err)
		}
		// Delivered again after it was forgotten: still the same click, and it stays forgotten.
		if r, err := db.ApplyClick(ctx, c); err != nil || !r.Duplicate || r.Answer != "" {
			t.Fatalf("again: %+v %v", r, err)
		}
		raw := rawDB(t, path)
		if n := count(t, raw, `SELECT count(*) FROM click_events`); n != 1 {
			t.Fatalf("%d click events", n)
		}
	})
	// A click whose action_ts is ahead of Slack's clock is ordered by the bot's reading of Slack's
	// clock (OrderTS), which differs from one delivery to the next; the delivery is still known by its
	// own action_ts.
	t.Run("AheadOfSlackRedeliveredStoredOnce", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "internbot.db")
		db, _ := MustOpenDBAt(t, path)
		p := mustCreatePoll(t, db)
		c := internbot.Click{PollID: p.ID, User: "U1", Option: 1, MessageTS: p.TS, ActionTS: "4102444800.000001", OrderTS: ts(1)}
		if r, err := db.ApplyClick(ctx, c); err != nil || r.Duplicate || r.Answer != "maybe" {
			t.Fatalf("first: %+v %v", r, err)
		}
		mustApply(t, db, internbot.ReactionEvent{EventID: "Ev1", PollID: p.ID, User: "U1", Reaction: p.Options[0].Reaction, Added: true, EventTS: ts(2)})
		c.OrderTS = ts(3)
		if r, err := db.ApplyClick(ctx, c); err != nil || !r.Duplicate || r.Answer != "yes" {
			t.Fatalf("again: %+v %v", r, err)
		}
		raw := rawDB(t, path)
		if n := count(t, raw, `SELECT count(*) FROM click_events`); n != 1 {
			t.Fatalf("%d click events", n)
		}
		if n := count(t, raw, `SELECT action_us FROM poll_clicks`); n != 1710000000_000001 {
			t.Fatalf("click ordered at %d µs, want the first delivery's OrderTS", n)
		}
	})
	t.Run("ErrPollClosed", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "internbot.db")
		db, _ := MustOpenDBAt(t, path)
		p := mustCreatePoll(t, db)
		if _, err := db.ClosePoll(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		_, err := db.ApplyClick(ctx, internbot.Click{PollID: p.ID, User: "U1", Option: 0, MessageTS: p.TS, ActionTS: ts(1)})
		if !errors.Is(err, internbot.ErrPollClosed) {
			t.Fatalf("err %v", err)
		}
		raw := rawDB(t, path)
		if n := count(t, raw, `SELECT count(*) FROM click_events`) + count(t, raw, `SELECT count(*) FROM poll_clicks`); n != 0 {
			t.Fatalf("%d rows stored for a click on a closed poll", n)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		db, _ := MustOpenDB(t)
		p := mustCreatePoll(t, db)
		for _, c := range []internbot.Click{
			{PollID: p.ID, User: "U1", Option: 3, ActionTS: ts(1)},
			{PollID: p.ID, User: "U1", Option: -1, ActionTS: ts(1)},
			{PollID: p.ID, User: "", Option: 0, ActionTS: ts(1)},
			{PollID: p.ID, User: "U1", Option: 0, ActionTS: "soon"},
		} {
			if _, err := db.ApplyClick(ctx, c); !errors.Is(err, internbot.ErrInvalid) {
				t.Fatalf("%+v: %v", c, err)
			}
		}
	})
	t.Run("ForgetUserDeletesClicks", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "internbot.db")
		db, _ := MustOpenDBAt(t, path)
		p := mustCreatePoll(t, db)
		if _, err := db.ApplyClick(ctx, internbot.Click{PollID: p.ID, User: "U1", Option: 0, MessageTS: p.TS, ActionTS: ts(1)}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ForgetClick(ctx, p.ID, "U1", ts(2)); err != nil { // a withdrawn click is a row too
			t.Fatal(err)
		}
		if err := db.ForgetUser(ctx, "U1"); err != nil {
			t.Fatal(err)
		}
		raw := rawDB(t, path)
		if n := count(t, raw, `SELECT count(*) FROM click_events`) + count(t, raw, `SELECT count(*) FROM poll_clicks`); n != 0 {
			t.Fatalf("%d click rows left after forget", n)
		}
	})
	t.Run("PrivacyModesKept", func(t *testing.T) {
		db, _ := MustOpenDB(t)
		p, err := db.CreatePoll(ctx, internbot.Poll{Channel: "C9", TS: ts(9), Options: testOptions, Anonymous: true, HideResults: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.CurrentPoll(ctx, "C9")
		if err != nil || !got.Anonymous || !got.HideResults || got.ID != p.ID {
			t.Fatalf("%+v %v", got, err)
		}
	})
}
