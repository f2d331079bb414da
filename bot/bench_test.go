package bot_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/internbot/internbot/bot"
	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/slackemu"
	"github.com/internbot/internbot/storage"
)

// benchWindow is how many envelopes the benchmark keeps outstanding, about what Slack allows one
// Socket Mode connection before it waits for acks.
const benchWindow = 64

// BenchmarkReactionsSocketMode drives the real bot (bot.New + Run, a real SQLite file) over Socket
// Mode on loopback with b.N poll reactions, each from a distinct user so that each is a real write,
// keeping benchWindow envelopes outstanding. It reports acked (committed) events per second and the
// ack latency from the emulator's write to the emulator's receipt of the ack.
//
//	go test -run '^$' -bench BenchmarkReactionsSocketMode -benchtime 20000x ./bot/
func BenchmarkReactionsSocketMode(b *testing.B) {
	emu := slackemu.New(slackemu.Options{PingInterval: 5 * time.Second})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { emu.Close() })
	emu.AddUser(slackemu.User{ID: admin, Name: "ada"})
	emu.AddChannel(slackemu.Channel{ID: channel, Name: "internship", Members: []string{admin, emu.BotUserID()}})

	db, err := storage.Open(context.Background(), filepath.Join(b.TempDir(), "internbot.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	cfg := config.Default()
	cfg.Admins = []string{admin}
	cfg.Channel = channel
	clock := bot.NewSlackClock()
	bt, err := bot.New(bot.Options{
		Config:     cfg,
		Store:      db,
		Client:     slack.New(emu.BotToken(), slack.OptionAPIURL(emu.APIURL()), slack.OptionAppLevelToken(emu.AppToken()), slack.OptionHTTPClient(clock.HTTPClient(nil))),
		SlackClock: clock,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bt.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("bot.Run: %v", err)
		}
	})
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := emu.WaitConnected(wctx); err != nil {
		b.Fatal(err)
	}
	ack, err := emu.SlashCommand(wctx, admin, channel, "/internship", "poll")
	if err != nil || !strings.Contains(string(ack.Payload), "Posted the poll") {
		b.Fatalf("poll: %v %s", err, ack.Payload)
	}
	p, err := db.CurrentPoll(wctx, channel)
	if err != nil {
		b.Fatal(err)
	}
	for len(emu.Reactions(channel, p.TS)) < len(p.Options) { // the bot's own option reactions
		if wctx.Err() != nil {
			b.Fatal("the bot's option reactions never arrived")
		}
		time.Sleep(time.Millisecond)
	}

	envs := make([]slackemu.Prepared, b.N)
	for i := range envs {
		name := p.Options[i%len(p.Options)].Reaction
		envs[i], err = emu.Prepare(emu.ReactionEvent(fmt.Sprintf("U%07d", i), channel, p.TS, name, true))
		if err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, b.N)

	b.ResetTimer()
	cpu0, cpuOK := processCPU()
	start := time.Now()
	type sent struct {
		p  *slackemu.Pending
		at time.Time
	}
	// Outstanding: those queued here, the one the collector waits on, the one being sent.
	inflight := make(chan sent, benchWindow-2)
	errc := make(chan error, 1)
	go func() {
		defer close(inflight)
		for _, e := range envs {
			at := time.Now()
			pd, err := emu.SendPrepared(context.Background(), e)
			if err != nil {
				errc <- err
				return
			}
			inflight <- sent{pd, at}
		}
	}()
	actx, acancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer acancel()
	i := 0
	for s := range inflight {
		a, err := s.p.Wait(actx)
		if err != nil {
			b.Fatalf("envelope %d: no ack: %v", i, err)
		}
		lat[i] = a.At.Sub(s.at)
		i++
	}
	elapsed := time.Since(start)
	cpu1, _ := processCPU()
	b.StopTimer()
	select {
	case err := <-errc:
		b.Fatal(err)
	default:
	}

	if got, err := db.Counts(context.Background(), p.ID); err != nil {
		b.Fatal(err)
	} else if n := sum(got); n != b.N {
		b.Fatalf("%d answers stored, want %d", n, b.N)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "acked_events/s")
	b.ReportMetric(ms(lat[len(lat)/2]), "p50_ack_ms")
	b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "p99_ack_ms")
	if cpuOK {
		// Emulator and bot together; on a shared machine this moves less than events/s does.
		b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "cpu_us/event")
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// processCPU is the process's user+system CPU time from /proc/self/stat (Linux; 10 ms ticks).
func processCPU() (time.Duration, bool) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// Fields after "(comm)": state is field 3, utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on every Linux platform Go supports
	return time.Duration(utime+stime) * tick, true
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
