package bot_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/bot"
	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/slackemu"
	"github.com/internbot/internbot/storage"
)

// virtualClock is shared by the bot and the emulator: a sleep moves it on at once, so a fan-out that
// takes an hour of Slack's time runs in seconds, and the emulator's rate limits count that time.
type virtualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *virtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *virtualClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.t = c.t.Add(max(d, 0))
	c.mu.Unlock()
	return ctx.Err()
}

// BenchmarkReminderFanOut sends reminder DMs to 2,000 people against the emulator with Slack's
// rate-limit tiers on: day 1 opens every DM (conversations.open, Tier 3), day 2 reuses the stored
// ids. It reports the simulated wall time of each day's fan-out and the 429s met.
func BenchmarkReminderFanOut(b *testing.B) {
	const people = 2000
	for range b.N {
		clk := &virtualClock{t: time.Date(2026, 12, 14, 9, 0, 0, 0, time.UTC)}
		emu := slackemu.New(slackemu.Options{Now: clk.Now})
		if err := emu.Start("127.0.0.1:0"); err != nil {
			b.Fatal(err)
		}
		members := []string{emu.BotUserID()}
		for i := range people {
			id := fmt.Sprintf("U%06d", i)
			emu.AddUser(slackemu.User{ID: id, Name: id})
			members = append(members, id)
		}
		emu.AddChannel(slackemu.Channel{ID: channel, Name: "internship", Members: members})
		emu.EnforceRateLimits(true)

		ctx := context.Background()
		db, err := storage.Open(ctx, filepath.Join(b.TempDir(), "internbot.db"), storage.WithNow(clk.Now))
		if err != nil {
			b.Fatal(err)
		}
		cfg := config.Default()
		cfg.Reminders.DaysBefore = []int{1, 0}
		cfg.Deadlines = []config.Deadline{{Name: "Application deadline", Date: config.Date{Year: 2026, Month: time.December, Day: 15}}}
		var opts []internbot.PollOption
		for _, o := range cfg.Poll.Options {
			opts = append(opts, internbot.PollOption{Reaction: o.Reaction, Answer: o.Answer})
		}
		p, err := db.CreatePoll(ctx, internbot.Poll{Channel: channel, TS: "1765000000.000100", Question: "Applying?", Options: opts})
		if err != nil {
			b.Fatal(err)
		}
		evs := make([]internbot.ReactionEvent, people)
		for i := range people {
			evs[i] = internbot.ReactionEvent{PollID: p.ID, User: members[i+1], Reaction: "white_check_mark", Added: true,
				EventTS: fmt.Sprintf("1765000001.%06d", i)}
		}
		if _, err := db.ApplyReactions(ctx, evs); err != nil {
			b.Fatal(err)
		}
		client := slack.New(emu.BotToken(), slack.OptionAPIURL(emu.APIURL()), slack.OptionAppLevelToken(emu.AppToken()))
		bt, err := bot.New(bot.Options{Config: cfg, Store: db, Client: client, Now: clk.Now, Sleep: clk.Sleep})
		if err != nil {
			b.Fatal(err)
		}
		var sim [2]time.Duration
		for day := range 2 {
			start := clk.Now()
			rep, err := bt.Reminders().RunReport(ctx)
			if err != nil || rep.DMsSent != people {
				b.Fatalf("day %d: %d DMs sent, %v", day+1, rep.DMsSent, err)
			}
			sim[day] = clk.Now().Sub(start)
			clk.Sleep(ctx, 24*time.Hour-sim[day])
		}
		b.ReportMetric(sim[0].Seconds(), "day1-sim-s")
		b.ReportMetric(sim[1].Seconds(), "day2-sim-s")
		b.ReportMetric(float64(emu.RateLimited()), "429s")
		b.ReportMetric(float64(emu.Calls("conversations.open")), "conversations.open")
		db.Close()
		emu.Close()
	}
}
