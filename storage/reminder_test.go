package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/internbot/internbot"
)

func TestReminders(t *testing.T) {
	ctx := context.Background()
	db, clock := MustOpenDB(t)
	const day = "2025-03-14"

	if _, err := db.Reminder(ctx, "Apply", day); !errors.Is(err, internbot.ErrNotFound) {
		t.Fatalf("Reminder before begin = %v, want ErrNotFound", err)
	}
	if err := db.MarkReminderPosted(ctx, "Apply", day, "1.1"); !errors.Is(err, internbot.ErrNotFound) {
		t.Fatalf("MarkReminderPosted before begin = %v, want ErrNotFound", err)
	}
	if err := db.MarkReminderFailed(ctx, "Apply", day, "x"); !errors.Is(err, internbot.ErrNotFound) {
		t.Fatalf("MarkReminderFailed before begin = %v, want ErrNotFound", err)
	}

	r, _, err := db.ClaimReminder(ctx, "Apply", day, "C1", "test", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != internbot.ReminderPending || r.Attempts != 1 || r.Channel != "C1" || !r.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("first begin = %+v", r)
	}
	if err := db.MarkReminderFailed(ctx, "Apply", day, "channel_not_found"); err != nil {
		t.Fatal(err)
	}
	if err := db.ReleaseReminder(ctx, "Apply", day, "test"); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	r, _, err = db.ClaimReminder(ctx, "apply", day, "C2", "test", time.Minute) // deadline names ignore case
	if err != nil {
		t.Fatal(err)
	}
	if r.State != internbot.ReminderPending || r.Attempts != 2 || r.Channel != "C2" || r.LastError != "channel_not_found" {
		t.Errorf("second begin = %+v", r)
	}
	if err := db.MarkReminderPosted(ctx, "Apply", day, "1700000000.000100"); err != nil {
		t.Fatal(err)
	}
	if err := db.ReleaseReminder(ctx, "Apply", day, "test"); err != nil {
		t.Fatal(err)
	}
	r, _, err = db.ClaimReminder(ctx, "Apply", day, "C3", "test", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != internbot.ReminderPosted || r.Attempts != 2 || r.Channel != "C2" || r.TS != "1700000000.000100" || r.LastError != "" {
		t.Errorf("begin after posted = %+v", r)
	}
	// A late failure report does not undo the posting.
	if err := db.MarkReminderFailed(ctx, "Apply", day, "timeout"); err != nil {
		t.Fatal(err)
	}
	if r, _ := db.Reminder(ctx, "Apply", day); r.State != internbot.ReminderPosted || r.LastError != "" {
		t.Errorf("after late failure = %+v", r)
	}

	if _, _, err := db.ClaimReminder(ctx, "Offer", day, "C1", "test", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.ClaimReminder(ctx, "Apply", "2025-03-15", "C1", "test", time.Minute); err != nil {
		t.Fatal(err)
	}
	rs, err := db.Reminders(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Deadline != "Apply" || rs[1].Deadline != "Offer" {
		t.Errorf("Reminders = %+v", rs)
	}
	if _, _, err := db.ClaimReminder(ctx, "Apply", "14/03/2025", "C1", "test", time.Minute); !errors.Is(err, internbot.ErrInvalid) {
		t.Errorf("bad day: %v", err)
	}
}

func TestReminderLease(t *testing.T) {
	db, clock := MustOpenDB(t)
	ctx := context.Background()
	const day = "2026-12-12"
	claim := func(holder string) (internbot.Reminder, bool) {
		t.Helper()
		r, ok, err := db.ClaimReminder(ctx, "Apply", day, "C1", holder, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return r, ok
	}
	if _, ok := claim("A"); !ok {
		t.Fatal("first claim refused")
	}
	if _, ok := claim("B"); ok {
		t.Fatal("B claimed while A's lease is live")
	}
	if r, ok := claim("A"); !ok || r.Attempts != 1 {
		t.Fatalf("A's renewal: ok=%v attempts=%d, want true 1", ok, r.Attempts)
	}
	clock.Add(2 * time.Minute) // A died; its lease runs out
	if r, ok := claim("B"); !ok || r.Attempts != 2 {
		t.Fatalf("B after A's lease ran out: ok=%v attempts=%d, want true 2", ok, r.Attempts)
	}
	if err := db.ReleaseReminder(ctx, "Apply", day, "A"); err != nil { // A's stale release changes nothing
		t.Fatal(err)
	}
	if _, ok := claim("C"); ok {
		t.Fatal("C claimed while B's lease is live")
	}
	if err := db.ReleaseReminder(ctx, "Apply", day, "B"); err != nil {
		t.Fatal(err)
	}
	if _, ok := claim("C"); !ok {
		t.Fatal("C refused after B released")
	}
	if _, _, err := db.ClaimReminder(ctx, "Apply", day, "C1", "", time.Minute); !errors.Is(err, internbot.ErrInvalid) {
		t.Fatalf("empty holder: %v", err)
	}
}
