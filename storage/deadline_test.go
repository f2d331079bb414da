package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/internbot/internbot/storage"
)

func TestDeadlines(t *testing.T) {
	ctx := context.Background()
	db, clock := MustOpenDB(t)

	t.Run("OK", func(t *testing.T) {
		for _, d := range []storage.Deadline{
			{Name: "Zeta", Date: "2025-04-01", CreatedBy: "UADMIN"},
			{Name: "alpha", Date: "2025-05-01"},
			{Name: " Beta ", Date: "2025-04-01"},
		} {
			got, err := db.AddDeadline(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			if !got.CreatedAt.Equal(clock.Now()) {
				t.Errorf("CreatedAt = %v", got.CreatedAt)
			}
		}
		ds, err := db.Deadlines(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range ds {
			names = append(names, d.Date+" "+d.Name)
		}
		if want := "[2025-04-01 Beta 2025-04-01 Zeta 2025-05-01 alpha]"; fmtSlice(names) != want {
			t.Errorf("Deadlines = %v, want %v", names, want)
		}
		if ds[1].CreatedBy != "UADMIN" {
			t.Errorf("CreatedBy = %q", ds[1].CreatedBy)
		}
	})

	t.Run("ErrDuplicate", func(t *testing.T) {
		if _, err := db.AddDeadline(ctx, storage.Deadline{Name: "ZETA", Date: "2025-06-01"}); !errors.Is(err, storage.ErrDuplicate) {
			t.Fatalf("err = %v, want ErrDuplicate", err)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, d := range []storage.Deadline{{Name: " ", Date: "2025-06-01"}, {Name: "x", Date: "2025-6-1"}, {Name: "x", Date: "tomorrow"}} {
			if _, err := db.AddDeadline(ctx, d); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("AddDeadline(%+v) = %v, want ErrInvalid", d, err)
			}
		}
	})

	t.Run("Remove", func(t *testing.T) {
		if err := db.RemoveDeadline(ctx, "zeta"); err != nil {
			t.Fatal(err)
		}
		if err := db.RemoveDeadline(ctx, "zeta"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
		if ds, _ := db.Deadlines(ctx); len(ds) != 2 {
			t.Errorf("Deadlines = %+v", ds)
		}
	})
}

func fmtSlice(s []string) string {
	out := "["
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out + "]"
}

func TestReminders(t *testing.T) {
	ctx := context.Background()
	db, clock := MustOpenDB(t)
	const day = "2025-03-14"

	if _, err := db.Reminder(ctx, "Apply", day); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Reminder before begin = %v, want ErrNotFound", err)
	}
	if err := db.MarkReminderPosted(ctx, "Apply", day, "1.1"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("MarkReminderPosted before begin = %v, want ErrNotFound", err)
	}
	if err := db.MarkReminderFailed(ctx, "Apply", day, "x"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("MarkReminderFailed before begin = %v, want ErrNotFound", err)
	}

	r, _, err := db.ClaimReminder(ctx, "Apply", day, "C1", "test", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != storage.ReminderPending || r.Attempts != 1 || r.Channel != "C1" || !r.UpdatedAt.Equal(clock.Now()) {
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
	if r.State != storage.ReminderPending || r.Attempts != 2 || r.Channel != "C2" || r.LastError != "channel_not_found" {
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
	if r.State != storage.ReminderPosted || r.Attempts != 2 || r.Channel != "C2" || r.TS != "1700000000.000100" || r.LastError != "" {
		t.Errorf("begin after posted = %+v", r)
	}
	// A late failure report does not undo the posting.
	if err := db.MarkReminderFailed(ctx, "Apply", day, "timeout"); err != nil {
		t.Fatal(err)
	}
	if r, _ := db.Reminder(ctx, "Apply", day); r.State != storage.ReminderPosted || r.LastError != "" {
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
	if _, _, err := db.ClaimReminder(ctx, "Apply", "14/03/2025", "C1", "test", time.Minute); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("bad day: %v", err)
	}
}

func TestDMs(t *testing.T) {
	ctx := context.Background()
	db, _ := MustOpenDB(t)
	const day = "2025-03-14"

	created, err := db.PlanDMs(ctx, "Apply", day, []string{"U2", "U1", "U1", ""})
	if err != nil || !created {
		t.Fatalf("PlanDMs = %v, %v; want created", created, err)
	}
	// The plan is a snapshot: planning again adds nobody.
	created, err = db.PlanDMs(ctx, "Apply", day, []string{"U3"})
	if err != nil || created {
		t.Fatalf("second PlanDMs = %v, %v; want not created", created, err)
	}
	dms, err := db.DMs(ctx, "Apply", day)
	if err != nil {
		t.Fatal(err)
	}
	if len(dms) != 2 || dms[0].User != "U1" || dms[1].User != "U2" || dms[0].State != storage.DMPending {
		t.Fatalf("DMs = %+v", dms)
	}

	// An empty plan is a plan too.
	if created, err := db.PlanDMs(ctx, "Offer", day, nil); err != nil || !created {
		t.Fatalf("empty PlanDMs = %v, %v", created, err)
	}
	if created, _ := db.PlanDMs(ctx, "Offer", day, []string{"U1"}); created {
		t.Fatal("empty plan was replaced")
	}

	dm := func(user string) storage.DM {
		t.Helper()
		dms, err := db.DMs(ctx, "Apply", day)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dms {
			if d.User == user {
				return d
			}
		}
		t.Fatalf("no dm for %s", user)
		return storage.DM{}
	}

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.MarkDMSending(ctx, "Apply", day, "U1"))
	if d := dm("U1"); d.State != storage.DMSending || d.Attempts != 1 {
		t.Errorf("after sending = %+v", d)
	}
	must(db.MarkDMFailed(ctx, "Apply", day, "U1", "ratelimited"))
	if d := dm("U1"); d.State != storage.DMPending || d.LastError != "ratelimited" || d.Attempts != 1 {
		t.Errorf("after failed = %+v", d)
	}
	must(db.MarkDMSending(ctx, "Apply", day, "U1"))
	must(db.MarkDMSent(ctx, "Apply", day, "U1", "D1", "1.000001"))
	if d := dm("U1"); d.State != storage.DMSent || d.Attempts != 2 || d.Channel != "D1" || d.TS != "1.000001" || d.LastError != "" {
		t.Errorf("after sent = %+v", d)
	}
	if err := db.MarkDMSending(ctx, "Apply", day, "U1"); !errors.Is(err, storage.ErrDuplicate) {
		t.Errorf("sending a sent dm: %v, want ErrDuplicate", err)
	}
	must(db.MarkDMFailed(ctx, "Apply", day, "U1", "late"))
	if d := dm("U1"); d.State != storage.DMSent {
		t.Errorf("late failure undid sent: %+v", d)
	}
	if d := dm("U2"); d.State != storage.DMPending || d.Attempts != 0 {
		t.Errorf("U2 = %+v", d)
	}
	must(db.MarkDMUndeliverable(ctx, "Apply", day, "U2", "conversations.open: user_disabled"))
	if d := dm("U2"); d.State != storage.DMFailed || d.LastError != "conversations.open: user_disabled" {
		t.Errorf("after undeliverable = %+v", d)
	}
	must(db.MarkDMUndeliverable(ctx, "Apply", day, "U1", "late"))
	if d := dm("U1"); d.State != storage.DMSent {
		t.Errorf("late undeliverable undid sent: %+v", d)
	}
	for _, err := range []error{
		db.MarkDMUndeliverable(ctx, "Apply", day, "U3", "x"),
		db.MarkDMSending(ctx, "Apply", day, "U3"),
		db.MarkDMSent(ctx, "Apply", day, "U3", "D3", "1.1"),
		db.MarkDMFailed(ctx, "Apply", day, "U3", "x"),
	} {
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("unplanned user: %v, want ErrNotFound", err)
		}
	}
}

func TestRemindersOff(t *testing.T) {
	ctx := context.Background()
	db, _ := MustOpenDB(t)
	if off, err := db.RemindersOff(ctx, "U1"); err != nil || off {
		t.Fatalf("default = %v, %v", off, err)
	}
	for _, want := range []bool{true, false, true} {
		if err := db.SetRemindersOff(ctx, "U1", want); err != nil {
			t.Fatal(err)
		}
		if off, err := db.RemindersOff(ctx, "U1"); err != nil || off != want {
			t.Fatalf("RemindersOff = %v, %v; want %v", off, err, want)
		}
	}
	if off, _ := db.RemindersOff(ctx, "U2"); off {
		t.Error("U2 affected")
	}
}

func TestReminderLease(t *testing.T) {
	db, clock := MustOpenDB(t)
	ctx := context.Background()
	const day = "2026-12-12"
	claim := func(holder string) (storage.Reminder, bool) {
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
	if _, _, err := db.ClaimReminder(ctx, "Apply", day, "C1", "", time.Minute); !errors.Is(err, storage.ErrInvalid) {
		t.Fatalf("empty holder: %v", err)
	}
}
