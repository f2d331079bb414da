package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/internbot/internbot"
)

func TestDeadlines(t *testing.T) {
	ctx := context.Background()
	db, clock := MustOpenDB(t)

	t.Run("OK", func(t *testing.T) {
		for _, d := range []internbot.Deadline{
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
		if _, err := db.AddDeadline(ctx, internbot.Deadline{Name: "ZETA", Date: "2025-06-01"}); !errors.Is(err, internbot.ErrDuplicate) {
			t.Fatalf("err = %v, want ErrDuplicate", err)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, d := range []internbot.Deadline{{Name: " ", Date: "2025-06-01"}, {Name: "x", Date: "2025-6-1"}, {Name: "x", Date: "tomorrow"}} {
			if _, err := db.AddDeadline(ctx, d); !errors.Is(err, internbot.ErrInvalid) {
				t.Errorf("AddDeadline(%+v) = %v, want ErrInvalid", d, err)
			}
		}
	})

	t.Run("Remove", func(t *testing.T) {
		if err := db.RemoveDeadline(ctx, "zeta"); err != nil {
			t.Fatal(err)
		}
		if err := db.RemoveDeadline(ctx, "zeta"); !errors.Is(err, internbot.ErrNotFound) {
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
