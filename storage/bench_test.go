package storage_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/internbot/internbot"
)

// BenchmarkApplyReactions measures committed reaction events per second for
// batch (group commit) sizes 1, 16 and 64. The events mix adds and removes
// over 1000 users, each with a unique event id, as Slack would deliver them.
func BenchmarkApplyReactions(b *testing.B) {
	for _, size := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			db, _ := MustOpenDB(b)
			ctx := context.Background()
			p := mustCreatePoll(b, db)
			const users = 1000
			events := make([]internbot.ReactionEvent, size)
			n := 0
			for b.Loop() {
				for i := range events {
					// Each user cycles: +check, +thinking, -check, -thinking, ...
					step := n / users
					events[i] = internbot.ReactionEvent{
						EventID:  fmt.Sprintf("Ev%09d", n),
						PollID:   p.ID,
						User:     fmt.Sprintf("U%05d", n%users),
						Reaction: testOptions[step%2].Reaction,
						Added:    step%4 < 2,
						EventTS:  fmt.Sprintf("1710000000.%06d", n%1_000_000),
					}
					n++
				}
				if _, err := db.ApplyReactions(ctx, events); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
