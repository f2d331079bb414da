package storage_test

import (
	"context"
	"testing"
)

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
