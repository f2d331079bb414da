package remind_test

import (
	"testing"
	"time"

	"github.com/internbot/internbot/remind"
)

func TestScheduleAcrossDST(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	t.Run("FallBackRunsOnce", func(t *testing.T) {
		// 2026-11-01 01:30 happens twice in Los Angeles; robfig/cron alone fires at both.
		s, err := remind.ParseSchedule("30 1 * * *", la)
		if err != nil {
			t.Fatal(err)
		}
		var fires []time.Time
		for at := time.Date(2026, 10, 31, 12, 0, 0, 0, la); len(fires) < 3; {
			at = s.Next(at)
			fires = append(fires, at)
		}
		for i, want := range []time.Time{
			time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC), // 01:30 PDT
			time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC), // 01:30 PST the next day
		} {
			if !fires[i].Equal(want) {
				t.Errorf("fire %d = %v, want %v", i, fires[i].UTC(), want)
			}
		}
	})
	t.Run("SpringForwardNotSkipped", func(t *testing.T) {
		// 2027-03-14 02:30 does not exist in Los Angeles; robfig/cron alone skips the whole day.
		s, err := remind.ParseSchedule("30 2 * * *", la)
		if err != nil {
			t.Fatal(err)
		}
		got := s.Next(time.Date(2027, 3, 14, 0, 0, 0, 0, la))
		if want := time.Date(2027, 3, 14, 3, 30, 0, 0, la); !got.Equal(want) {
			t.Errorf("next = %v, want %v (the end of the gap)", got, want)
		}
		if got := s.Next(got); !got.Equal(time.Date(2027, 3, 15, 2, 30, 0, 0, la)) {
			t.Errorf("following = %v", got)
		}
	})
}
