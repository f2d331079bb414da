package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/internbot/internbot"
)

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
	if len(dms) != 2 || dms[0].User != "U1" || dms[1].User != "U2" || dms[0].State != internbot.DMPending {
		t.Fatalf("DMs = %+v", dms)
	}

	// An empty plan is a plan too.
	if created, err := db.PlanDMs(ctx, "Offer", day, nil); err != nil || !created {
		t.Fatalf("empty PlanDMs = %v, %v", created, err)
	}
	if created, _ := db.PlanDMs(ctx, "Offer", day, []string{"U1"}); created {
		t.Fatal("empty plan was replaced")
	}

	dm := func(user string) internbot.DM {
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
		return internbot.DM{}
	}

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.MarkDMSending(ctx, "Apply", day, "U1"))
	if d := dm("U1"); d.State != internbot.DMSending || d.Attempts != 1 {
		t.Errorf("after sending = %+v", d)
	}
	must(db.MarkDMFailed(ctx, "Apply", day, "U1", "ratelimited"))
	if d := dm("U1"); d.State != internbot.DMPending || d.LastError != "ratelimited" || d.Attempts != 1 {
		t.Errorf("after failed = %+v", d)
	}
	must(db.MarkDMSending(ctx, "Apply", day, "U1"))
	must(db.MarkDMSent(ctx, "Apply", day, "U1", "D1", "1.000001"))
	if d := dm("U1"); d.State != internbot.DMSent || d.Attempts != 2 || d.Channel != "D1" || d.TS != "1.000001" || d.LastError != "" {
		t.Errorf("after sent = %+v", d)
	}
	if err := db.MarkDMSending(ctx, "Apply", day, "U1"); !errors.Is(err, internbot.ErrDuplicate) {
		t.Errorf("sending a sent dm: %v, want ErrDuplicate", err)
	}
	must(db.MarkDMFailed(ctx, "Apply", day, "U1", "late"))
	if d := dm("U1"); d.State != internbot.DMSent {
		t.Errorf("late failure undid sent: %+v", d)
	}
	if d := dm("U2"); d.State != internbot.DMPending || d.Attempts != 0 {
		t.Errorf("U2 = %+v", d)
	}
	must(db.MarkDMUndeliverable(ctx, "Apply", day, "U2", "conversations.open: user_disabled"))
	if d := dm("U2"); d.State != internbot.DMFailed || d.LastError != "conversations.open: user_disabled" {
		t.Errorf("after undeliverable = %+v", d)
	}
	must(db.MarkDMUndeliverable(ctx, "Apply", day, "U1", "late"))
	if d := dm("U1"); d.State != internbot.DMSent {
		t.Errorf("late undeliverable undid sent: %+v", d)
	}
	for _, err := range []error{
		db.MarkDMUndeliverable(ctx, "Apply", day, "U3", "x"),
		db.MarkDMSending(ctx, "Apply", day, "U3"),
		db.MarkDMSent(ctx, "Apply", day, "U3", "D3", "1.1"),
		db.MarkDMFailed(ctx, "Apply", day, "U3", "x"),
	} {
		if !errors.Is(err, internbot.ErrNotFound) {
			t.Errorf("unplanned user: %v, want ErrNotFound", err)
		}
	}
}
