package storage_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/storage"
)

func TestApplyReactions(t *testing.T) {
	type step struct {
		id       string // event id suffix; "" = none
		reaction string
		added    bool
		ts       string
		want     internbot.ReactionResult
	}
	add := func(id, reaction, ts, answer string) step {
		return step{id: id, reaction: reaction, added: true, ts: ts, want: internbot.ReactionResult{Answer: answer}}
	}
	remove := func(id, reaction, ts, answer string) step {
		return step{id: id, reaction: reaction, added: false, ts: ts, want: internbot.ReactionResult{Answer: answer}}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"OK", []step{add("1", "white_check_mark", ts(1), "yes")}},
		{"ThinkingThenCheck", []step{
			add("1", "thinking_face", ts(1), "maybe"),
			add("2", "white_check_mark", ts(2), "yes"),
		}},
		{"RemoveNewestFallsBack", []step{
			add("1", "thinking_face", ts(1), "maybe"),
			add("2", "white_check_mark", ts(2), "yes"),
			remove("3", "white_check_mark", ts(3), "maybe"),
		}},
		{"RemoveAll", []step{
			add("1", "thinking_face", ts(1), "maybe"),
			add("2", "white_check_mark", ts(2), "yes"),
			remove("3", "white_check_mark", ts(3), "maybe"),
			remove("4", "thinking_face", ts(4), ""),
		}},
		{"ReAdd", []step{
			add("1", "white_check_mark", ts(1), "yes"),
			remove("2", "white_check_mark", ts(2), ""),
			add("3", "white_check_mark", ts(3), "yes"),
		}},
		{"OutOfOrderAdds", []step{
			add("2", "white_check_mark", ts(2), "yes"),
			add("1", "thinking_face", ts(1), "yes"),
		}},
		{"RemoveArrivesBeforeItsAdd", []step{
			remove("2", "white_check_mark", ts(2), ""),
			add("1", "white_check_mark", ts(1), ""),
		}},
		{"StaleRemoveIgnored", []step{
			add("2", "white_check_mark", ts(3), "yes"),
			remove("1", "white_check_mark", ts(2), "yes"),
		}},
		{"EqualTimestampLaterWins", []step{
			add("1", "white_check_mark", ts(1), "yes"),
			remove("2", "white_check_mark", ts(1), ""),
		}},
		{"TimestampsCompareAsNumbers", []step{
			add("1", "white_check_mark", "1000.000001", "yes"),
			add("2", "thinking_face", "999.900000", "yes"),
			add("3", "x", "1000.5", "no"),
			add("4", "thinking_face", "1000.25", "no"), // .25 < .5 although "25" > "5" as text
		}},
		{"TieGoesToFirstOption", []step{
			add("1", "thinking_face", ts(5), "maybe"),
			add("2", "white_check_mark", ts(5), "yes"),
			add("3", "x", ts(5), "yes"),
		}},
		{"Duplicate", []step{
			add("1", "white_check_mark", ts(1), "yes"),
			{id: "1", reaction: "white_check_mark", added: false, ts: ts(2), want: internbot.ReactionResult{Duplicate: true, Answer: "yes"}},
		}},
		{"NoEventIDIsNeverDuplicate", []step{
			add("", "white_check_mark", ts(1), "yes"),
			remove("", "white_check_mark", ts(2), ""),
		}},
		{"NonOptionIgnored", []step{
			add("1", "thinking_face", ts(1), "maybe"),
			{id: "2", reaction: "tada", added: true, ts: ts(2), want: internbot.ReactionResult{Ignored: true, Answer: "maybe"}},
		}},
		{"BadTimestampIgnored", []step{
			{id: "1", reaction: "x", added: true, ts: "yesterday", want: internbot.ReactionResult{Ignored: true}},
		}},
		{"EmptyTimestampMeansNow", []step{
			add("1", "thinking_face", ts(1), "maybe"),
			add("2", "x", "", "no"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := MustOpenDB(t)
			ctx := context.Background()
			build := func(p internbot.Poll, prefix string) []internbot.ReactionEvent {
				var evs []internbot.ReactionEvent
				for _, s := range tt.steps {
					id := ""
					if s.id != "" {
						id = prefix + s.id
					}
					evs = append(evs, internbot.ReactionEvent{EventID: id, PollID: p.ID, User: "U1", Reaction: s.reaction, Added: s.added, EventTS: s.ts})
				}
				return evs
			}

			// One event per transaction.
			p := mustCreatePoll(t, db)
			for i, ev := range build(p, "single-") {
				got := mustApply(t, db, ev)
				if got[0] != tt.steps[i].want {
					t.Errorf("step %d: got %+v, want %+v", i, got[0], tt.steps[i].want)
				}
			}
			// The same events as one batch give the same results.
			pb := mustCreatePoll(t, db)
			got := mustApply(t, db, build(pb, "batch-")...)
			for i := range got {
				if got[i] != tt.steps[i].want {
					t.Errorf("batch step %d: got %+v, want %+v", i, got[i], tt.steps[i].want)
				}
			}

			last := tt.steps[len(tt.steps)-1].want.Answer
			for _, id := range []int64{p.ID, pb.ID} {
				a, err := db.AnswerOf(ctx, id, "U1")
				switch {
				case last == "" && !errors.Is(err, internbot.ErrNotFound):
					t.Errorf("AnswerOf = %+v, %v; want ErrNotFound", a, err)
				case last != "" && (err != nil || a.Answer != last):
					t.Errorf("AnswerOf = %+v, %v; want %q", a, err, last)
				}
			}
		})
	}
}

func TestApplyReactions_ClosedPoll(t *testing.T) {
	db, _ := MustOpenDB(t)
	ctx := context.Background()
	p := mustCreatePoll(t, db)
	mustApply(t, db, internbot.ReactionEvent{EventID: "E1", PollID: p.ID, User: "U1", Reaction: "x", Added: true, EventTS: ts(1)})
	if _, err := db.ClosePoll(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	got := mustApply(t, db,
		internbot.ReactionEvent{EventID: "E2", PollID: p.ID, User: "U1", Reaction: "x", Added: false, EventTS: ts(2)},
		internbot.ReactionEvent{EventID: "E3", PollID: p.ID, User: "U2", Reaction: "x", Added: true, EventTS: ts(3)},
	)
	want := []internbot.ReactionResult{{Ignored: true, Answer: "no"}, {Ignored: true}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if counts, _ := db.Counts(ctx, p.ID); counts["no"] != 1 || len(counts) != 1 {
		t.Errorf("counts = %v", counts)
	}
	// Ignored events are still logged, so a retry is a duplicate.
	got = mustApply(t, db, internbot.ReactionEvent{EventID: "E2", PollID: p.ID, User: "U1", Reaction: "x", EventTS: ts(2)})
	if !got[0].Duplicate {
		t.Errorf("retry of ignored event: %+v, want Duplicate", got[0])
	}
}

func TestApplyReactions_UnknownPoll(t *testing.T) {
	db, _ := MustOpenDB(t)
	got := mustApply(t, db, internbot.ReactionEvent{EventID: "E1", PollID: 42, User: "U1", Reaction: "x", Added: true, EventTS: ts(1)})
	if !got[0].Ignored {
		t.Errorf("got %+v, want Ignored", got[0])
	}
}

func TestApplyReactions_AnsweredAt(t *testing.T) {
	db, clock := MustOpenDB(t)
	ctx := context.Background()
	p := mustCreatePoll(t, db)
	t1 := clock.Add(time.Minute)
	mustApply(t, db, internbot.ReactionEvent{PollID: p.ID, User: "U1", Reaction: "white_check_mark", Added: true, EventTS: ts(10)})
	clock.Add(time.Minute)
	// An older reaction changes a fact but not the answer: answered_at stays.
	mustApply(t, db, internbot.ReactionEvent{PollID: p.ID, User: "U1", Reaction: "thinking_face", Added: true, EventTS: ts(5)})
	a, err := db.AnswerOf(ctx, p.ID, "U1")
	if err != nil {
		t.Fatal(err)
	}
	if a.Answer != "yes" || !a.AnsweredAt.Equal(t1) || a.Channel != "C1" || a.TS != p.TS || a.PollID != p.ID {
		t.Errorf("answer = %+v, want yes at %v", a, t1)
	}
	t3 := clock.Add(time.Minute)
	mustApply(t, db, internbot.ReactionEvent{PollID: p.ID, User: "U1", Reaction: "white_check_mark", EventTS: ts(11)})
	if a, _ := db.AnswerOf(ctx, p.ID, "U1"); a.Answer != "maybe" || !a.AnsweredAt.Equal(t3) {
		t.Errorf("answer = %+v, want maybe at %v", a, t3)
	}
}

func TestApplyReactions_Empty(t *testing.T) {
	db, _ := MustOpenDB(t)
	if rs, err := db.ApplyReactions(context.Background(), nil); err != nil || rs != nil {
		t.Errorf("ApplyReactions(nil) = %v, %v", rs, err)
	}
}

func TestReconcilePoll(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db, clock := MustOpenDB(t)
		p := mustCreatePoll(t, db)
		// The clock is at 2025 and the events at 2024: asOf is newer.
		mustApply(t, db,
			internbot.ReactionEvent{PollID: p.ID, User: "U1", Reaction: "thinking_face", Added: true, EventTS: ts(1)},
			internbot.ReactionEvent{PollID: p.ID, User: "U2", Reaction: "white_check_mark", Added: true, EventTS: ts(2)},
			internbot.ReactionEvent{PollID: p.ID, User: "U4", Reaction: "white_check_mark", Added: true, EventTS: ts(4)},
			internbot.ReactionEvent{PollID: p.ID, User: "U6", Reaction: "x", Added: true, EventTS: ts(6)},
			internbot.ReactionEvent{PollID: p.ID, User: "U6", Reaction: "thinking_face", Added: true, EventTS: ts(7)},
		)
		asOf := clock.Add(time.Hour)
		clock.Add(time.Second) // the reconcile itself runs a little later
		present := map[string][]string{
			"white_check_mark": {"U1", "U4"},
			"thinking_face":    {"U1", "U3"},
			"x":                {"U3", "U6"},
			"tada":             {"U9"}, // not an option: ignored
		}
		changed, err := db.ReconcilePoll(ctx, p.ID, present, asOf)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"U1": "yes",   // check newly discovered beats known thinking_face
			"U3": "maybe", // both new: thinking_face is listed before x
			"U4": "yes",   // unchanged
			"U6": "no",    // thinking_face gone: falls back to x
			// U2: check removed while offline: no answer
		}
		if changed != 4 { // U1, U2, U3, U6
			t.Errorf("changed = %d, want 4", changed)
		}
		assertAnswers(t, db, p.ID, want)

		// Reconciling again with the same state changes nothing.
		if changed, err := db.ReconcilePoll(ctx, p.ID, present, clock.Now()); err != nil || changed != 0 {
			t.Errorf("second reconcile = %d, %v; want 0", changed, err)
		}

		// A late event from before the snapshot is stale; a newer one applies.
		mustApply(t, db, internbot.ReactionEvent{PollID: p.ID, User: "U3", Reaction: "thinking_face",
			EventTS: fmt.Sprintf("%d.000000", asOf.Add(-time.Minute).Unix())})
		assertAnswers(t, db, p.ID, want)
		mustApply(t, db, internbot.ReactionEvent{PollID: p.ID, User: "U3", Reaction: "thinking_face",
			EventTS: fmt.Sprintf("%d.000000", clock.Now().Add(time.Second).Unix())})
		want["U3"] = "no"
		assertAnswers(t, db, p.ID, want)
	})

	t.Run("LiveEventsAfterSnapshotWin", func(t *testing.T) {
		db, clock := MustOpenDB(t)
		p := mustCreatePoll(t, db)
		mustApply(t, db, internbot.ReactionEvent{PollID: p.ID, User: "U1", Reaction: "x", Added: true, EventTS: ts(1)})
		asOf := clock.Now()
		slack := func(d time.Duration) string { return fmt.Sprintf("%d.000000", asOf.Add(d).Unix()) }
		// Between the reactions.get snapshot and the reconcile, live events
		// arrive: U1 removes x, U2 adds thinking_face.
		mustApply(t, db,
			internbot.ReactionEvent{PollID: p.ID, User: "U1", Reaction: "x", EventTS: slack(time.Second)},
			internbot.ReactionEvent{PollID: p.ID, User: "U2", Reaction: "thinking_face", Added: true, EventTS: slack(time.Second)},
		)
		clock.Add(2 * time.Second)
		// The snapshot still shows the old state.
		changed, err := db.ReconcilePoll(ctx, p.ID, map[string][]string{"x": {"U1"}}, asOf)
		if err != nil {
			t.Fatal(err)
		}
		if changed != 0 {
			t.Errorf("changed = %d, want 0", changed)
		}
		assertAnswers(t, db, p.ID, map[string]string{"U2": "maybe"})
	})

	t.Run("ZeroAsOfMeansNow", func(t *testing.T) {
		db, _ := MustOpenDB(t)
		p := mustCreatePoll(t, db)
		mustApply(t, db, internbot.ReactionEvent{PollID: p.ID, User: "U1", Reaction: "x", Added: true, EventTS: ts(1)})
		if changed, err := db.ReconcilePoll(ctx, p.ID, map[string][]string{"white_check_mark": {"U1"}, "x": {"U1"}}, time.Time{}); err != nil || changed != 1 {
			t.Fatalf("reconcile = %d, %v; want 1", changed, err)
		}
		assertAnswers(t, db, p.ID, map[string]string{"U1": "yes"})
	})

	t.Run("MissingReactionMeansNobody", func(t *testing.T) {
		db, _ := MustOpenDB(t)
		p := mustCreatePoll(t, db)
		mustApply(t, db, internbot.ReactionEvent{PollID: p.ID, User: "U1", Reaction: "x", Added: true, EventTS: ts(1)})
		if changed, err := db.ReconcilePoll(ctx, p.ID, nil, time.Time{}); err != nil || changed != 1 {
			t.Fatalf("reconcile = %d, %v; want 1", changed, err)
		}
		assertAnswers(t, db, p.ID, map[string]string{})
	})

	t.Run("ErrPollClosed", func(t *testing.T) {
		db, _ := MustOpenDB(t)
		p := mustCreatePoll(t, db)
		if _, err := db.ClosePoll(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ReconcilePoll(ctx, p.ID, nil, time.Time{}); !errors.Is(err, internbot.ErrPollClosed) {
			t.Fatalf("err = %v, want ErrPollClosed", err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		db, _ := MustOpenDB(t)
		if _, err := db.ReconcilePoll(ctx, 99, nil, time.Time{}); !errors.Is(err, internbot.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
}

func assertAnswers(t *testing.T, db *storage.DB, pollID int64, want map[string]string) {
	t.Helper()
	as, err := db.Answers(context.Background(), pollID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range as {
		got[a.User] = a.Answer
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("answers = %v, want %v", got, want)
	}
}

func TestAnswersOrder(t *testing.T) {
	db, _ := MustOpenDB(t)
	ctx := context.Background()
	p1 := mustCreatePoll(t, db)
	p2 := mustCreatePoll(t, db)
	// Written in neither user nor poll order.
	mustApply(t, db,
		internbot.ReactionEvent{PollID: p2.ID, User: "UB", Reaction: "x", Added: true, EventTS: ts(1)},
		internbot.ReactionEvent{PollID: p1.ID, User: "UC", Reaction: "x", Added: true, EventTS: ts(2)},
		internbot.ReactionEvent{PollID: p1.ID, User: "UA", Reaction: "white_check_mark", Added: true, EventTS: ts(3)},
		internbot.ReactionEvent{PollID: p2.ID, User: "UA", Reaction: "thinking_face", Added: true, EventTS: ts(4)},
		internbot.ReactionEvent{PollID: p1.ID, User: "UB", Reaction: "white_check_mark", Added: true, EventTS: ts(5)},
	)
	key := func(as []internbot.Answer) []string {
		var out []string
		for _, a := range as {
			out = append(out, fmt.Sprintf("%d/%s=%s", a.PollID, a.User, a.Answer))
		}
		return out
	}

	t.Run("Answers", func(t *testing.T) {
		as, err := db.Answers(ctx, p1.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{fmt.Sprintf("%d/UA=yes", p1.ID), fmt.Sprintf("%d/UB=yes", p1.ID), fmt.Sprintf("%d/UC=no", p1.ID)}
		if !slices.Equal(key(as), want) {
			t.Errorf("got %v, want %v", key(as), want)
		}
	})
	t.Run("Counts", func(t *testing.T) {
		counts, err := db.Counts(ctx, p1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(counts) != "map[no:1 yes:2]" {
			t.Errorf("counts = %v", counts)
		}
	})
	t.Run("ExportAll", func(t *testing.T) {
		as, err := db.ExportAnswers(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			fmt.Sprintf("%d/UA=yes", p1.ID), fmt.Sprintf("%d/UB=yes", p1.ID), fmt.Sprintf("%d/UC=no", p1.ID),
			fmt.Sprintf("%d/UA=maybe", p2.ID), fmt.Sprintf("%d/UB=no", p2.ID),
		}
		if !slices.Equal(key(as), want) {
			t.Errorf("got %v, want %v", key(as), want)
		}
	})
	t.Run("ExportOne", func(t *testing.T) {
		as, err := db.ExportAnswers(ctx, p2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(as) != 2 || as[0].User != "UA" {
			t.Errorf("got %v", key(as))
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := db.Counts(ctx, 99); !errors.Is(err, internbot.ErrNotFound) {
			t.Errorf("Counts: %v", err)
		}
		if _, err := db.Answers(ctx, 99); !errors.Is(err, internbot.ErrNotFound) {
			t.Errorf("Answers: %v", err)
		}
		if _, err := db.ExportAnswers(ctx, 99); !errors.Is(err, internbot.ErrNotFound) {
			t.Errorf("ExportAnswers: %v", err)
		}
		if _, err := db.AnswerOf(ctx, p1.ID, "UZ"); !errors.Is(err, internbot.ErrNotFound) {
			t.Errorf("AnswerOf: %v", err)
		}
	})
}

func TestForgetUser(t *testing.T) {
	path := filepath.Join(t.TempDir(), "internbot.db")
	db, _ := MustOpenDBAt(t, path)
	ctx := context.Background()
	p1 := mustCreatePoll(t, db)
	p2 := mustCreatePoll(t, db)
	for _, u := range []string{"U1", "U2"} {
		mustApply(t, db,
			internbot.ReactionEvent{EventID: "a" + u, PollID: p1.ID, User: u, Reaction: "x", Added: true, EventTS: ts(1)},
			internbot.ReactionEvent{EventID: "b" + u, PollID: p2.ID, User: u, Reaction: "x", Added: true, EventTS: ts(1)},
		)
		if err := db.SetRemindersOff(ctx, u, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.PlanDMs(ctx, "Apply", "2025-03-14", []string{"U1", "U2"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.ClaimNudgeDay(ctx, "2025-03-14", "U1"); err != nil || !ok {
		t.Fatalf("ClaimNudgeDay = %v, %v", ok, err)
	}

	if err := db.ForgetUser(ctx, "U1"); err != nil {
		t.Fatal(err)
	}

	for _, id := range []int64{p1.ID, p2.ID} {
		if _, err := db.AnswerOf(ctx, id, "U1"); !errors.Is(err, internbot.ErrNotFound) {
			t.Errorf("U1 answer on %d: %v", id, err)
		}
		if _, err := db.AnswerOf(ctx, id, "U2"); err != nil {
			t.Errorf("U2 answer on %d: %v", id, err)
		}
	}
	if off, _ := db.RemindersOff(ctx, "U1"); off {
		t.Error("U1 prefs kept")
	}
	if off, _ := db.RemindersOff(ctx, "U2"); !off {
		t.Error("U2 prefs lost")
	}
	dms, _ := db.DMs(ctx, "Apply", "2025-03-14")
	if len(dms) != 1 || dms[0].User != "U2" {
		t.Errorf("dms = %+v", dms)
	}
	raw := rawDB(t, path)
	for _, table := range []string{"reaction_events", "reaction_facts", "answers", "prefs", "dms"} {
		if n := count(t, raw, `SELECT count(*) FROM `+table+` WHERE user_id = 'U1'`); n != 0 {
			t.Errorf("%s keeps %d rows of U1", table, n)
		}
	}
	// Who nudged goes; that a nudge went out that day stays (the once-a-day rule).
	if n := count(t, raw, `SELECT count(*) FROM nudges WHERE by_user = 'U1'`); n != 0 {
		t.Errorf("nudges keeps %d rows naming U1", n)
	}
	if ok, err := db.ClaimNudgeDay(ctx, "2025-03-14", "U2"); err != nil || ok {
		t.Errorf("a second nudge the same day after forget: %v, %v", ok, err)
	}
	if err := db.ForgetUser(ctx, ""); !errors.Is(err, internbot.ErrInvalid) {
		t.Errorf("ForgetUser(\"\") = %v", err)
	}
}

func TestNewestEventTS(t *testing.T) {
	db, _ := MustOpenDB(t)
	ctx := context.Background()
	if got, err := db.NewestEventTS(ctx); err != nil || !got.IsZero() {
		t.Fatalf("empty db: %v, %v", got, err)
	}
	p := mustCreatePoll(t, db)
	if _, err := db.ApplyReactions(ctx, []internbot.ReactionEvent{
		{EventID: "Ev1", PollID: p.ID, User: "U1", Reaction: "white_check_mark", Added: true, EventTS: "1700000100.000200"},
		{EventID: "Ev2", PollID: p.ID, User: "U2", Reaction: "x", Added: true, EventTS: "1700000050.000000"},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := db.NewestEventTS(ctx)
	if err != nil || got.UnixMicro() != 1700000100000200 {
		t.Fatalf("newest = %v (%d), %v", got, got.UnixMicro(), err)
	}
}

// TestClampFutureFacts: facts stamped after the limit (an event_ts from the year 2100, accepted before
// the bot bounded them) move back to the limit, so later events win over them again; answers are
// derived again; nothing else changes.
func TestClampFutureFacts(t *testing.T) {
	db, _ := MustOpenDB(t)
	ctx := context.Background()
	p := mustCreatePoll(t, db)
	if _, err := db.ApplyReactions(ctx, []internbot.ReactionEvent{
		{EventID: "Ev1", PollID: p.ID, User: "U1", Reaction: "white_check_mark", Added: true, EventTS: "4102444800.000001"},
		{EventID: "Ev2", PollID: p.ID, User: "U1", Reaction: "x", Added: true, EventTS: "1700000050.000000"},
		{EventID: "Ev3", PollID: p.ID, User: "U2", Reaction: "x", Added: true, EventTS: "1700000060.000000"},
	}); err != nil {
		t.Fatal(err)
	}
	limit := time.UnixMicro(1700000100_000000)
	n, err := db.ClampFutureFacts(ctx, limit)
	if err != nil || n != 1 {
		t.Fatalf("ClampFutureFacts = %d, %v; want 1 fact moved", n, err)
	}
	if got, err := db.NewestEventTS(ctx); err != nil || !got.Equal(limit) {
		t.Errorf("newest event after the clamp = %v, %v; want %v", got, err, limit)
	}
	if a, err := db.AnswerOf(ctx, p.ID, "U1"); err != nil || a.Answer != "yes" {
		t.Errorf("U1's answer after the clamp = %+v, %v; want yes (still the newest)", a, err)
	}
	// A real removal after the limit now wins.
	res, err := db.ApplyReactions(ctx, []internbot.ReactionEvent{
		{EventID: "Ev4", PollID: p.ID, User: "U1", Reaction: "white_check_mark", Added: false, EventTS: "1700000200.000000"},
	})
	if err != nil || res[0].Answer != "no" {
		t.Errorf("a removal after the clamp gave %+v, %v; want the answer no", res, err)
	}
	if n, err := db.ClampFutureFacts(ctx, limit.Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("second clamp = %d, %v; want nothing to move", n, err)
	}
}

// TestApplyReactionsAllocs bounds the work one group commit of one event does in Go: its statements
// are prepared once for the DB's life (not parsed again in every transaction) and run with no goroutine
// watching the context. Allocations stand in for that work because they are counted exactly.
func TestApplyReactionsAllocs(t *testing.T) {
	db, _ := MustOpenDB(t)
	ctx, cancel := context.WithCancel(context.Background()) // a context that can end, as the bot's does
	defer cancel()
	p := mustCreatePoll(t, db)
	n := 0
	apply := func() {
		n++
		ev := internbot.ReactionEvent{EventID: fmt.Sprintf("Ev%09d", n), PollID: p.ID, User: fmt.Sprintf("U%05d", n%100),
			Reaction: testOptions[n%2].Reaction, Added: n%4 < 2, EventTS: fmt.Sprintf("1710000000.%06d", n)}
		if _, err := db.ApplyReactions(ctx, []internbot.ReactionEvent{ev}); err != nil {
			t.Fatal(err)
		}
	}
	apply() // the statements' first use prepares them
	const most = 150
	if got := testing.AllocsPerRun(200, apply); got > most {
		t.Errorf("one event's group commit allocates %.0f times, want at most %d", got, most)
	}
}
