package console_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/console"
)

type screen struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// driver types into a console session through a pipe and reads its screen.
type driver struct {
	t      *testing.T
	typeIn *io.PipeWriter
	out    *screen
	seen   int
	done   chan error
}

func startConsole(t *testing.T, opts console.Options) *driver {
	t.Helper()
	in, typeIn := io.Pipe()
	d := &driver{t: t, typeIn: typeIn, out: &screen{}, done: make(chan error, 1)}
	opts.In, opts.Out = in, d.out
	if opts.Config == nil {
		opts.Config = config.Default()
	}
	go func() { d.done <- console.Run(context.Background(), opts) }()
	t.Cleanup(func() {
		typeIn.Close()
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			t.Error("the console did not stop at the end of its input")
		}
	})
	return d
}

// say types a line and waits until everything in want has been printed after it; it returns what was
// printed.
func (d *driver) say(line string, want ...string) string {
	d.t.Helper()
	if _, err := io.WriteString(d.typeIn, line+"\n"); err != nil {
		d.t.Fatal(err)
	}
	return d.wait(line, want...)
}

// wait waits until everything in want has been printed since the last say or wait.
func (d *driver) wait(after string, want ...string) string {
	d.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		all := d.out.String()
		screen := all[d.seen:]
		missing := ""
		for _, w := range want {
			if !strings.Contains(screen, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			d.seen = len(all)
			return screen
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("after %q, the screen never showed %q:\n%s", after, missing, screen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// quit leaves the session and checks that it ended cleanly.
func (d *driver) quit() {
	d.t.Helper()
	d.say("quit")
	d.typeIn.Close()
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Fatalf("console: %v", err)
		}
		d.done <- nil
	case <-time.After(10 * time.Second):
		d.t.Fatal("the console did not stop after quit")
	}
}

func TestConsole(t *testing.T) {
	d := startConsole(t, console.Options{})
	d.wait("start", "You are @alice (a workspace admin)")
	d.say("help", "react :emoji:", "clock +1d", "as NAME")
	d.say("/internship pay", "only visible to you", "$12100 monthly")
	d.say("/internship details", "PhD Fall Machine Learning Intern", "=====", "Tensorflow, Pytorch, MLFlow")
	d.say("react :white_check_mark:", "no poll in #internship yet")
	d.say("/internship poll", "Posted the poll", "#internship · internbot", "Are you applying to the internship?")
	d.say("react :white_check_mark:", "*yes* 1 · *maybe* 0 · *no* 0 — 1 answer")
	d.say("as bob")
	d.say("/internship poll", "for admins")
	d.say("react :thinking_face:", "*yes* 1 · *maybe* 1")
	d.say("/internship me", "Your answer to the poll in #internship: *maybe*")
	d.say("reactions", ":thinking_face: @internbot, @bob", ":white_check_mark: @internbot, @alice")
	d.say("as alice")
	d.say("/internship results", "*yes*: @alice", "*maybe*: @bob")
	d.say("clock 2026-12-12T09:00", "the time is Sat Dec 12 2026 09:00 UTC")
	d.say("/internship deadline add 2026-12-15 Application deadline", "Added *Application deadline*")
	d.say("remind", "3 days left", "see the poll (https://", "DM to @alice · internbot", "You answered *yes*",
		"DM to @bob · internbot", "You answered *maybe*", "reminder job ran")
	d.say("clock +2d", "Mon Dec 14 2026")
	d.say("remind", "1 day left")
	d.say("as nobody", "no one is called")
	d.say("frob", "unknown command")
	d.quit()
}

// TestConsoleZones: a person's own morning, set with tz, and the clock and remind that show it.
func TestConsoleZones(t *testing.T) {
	d := startConsole(t, console.Options{})
	d.wait("start", "You are @alice")
	d.say("help", "tz NAME ZONE")
	d.say("/internship poll", "Posted the poll")
	d.say("react :white_check_mark:", "*yes* 1")
	d.say("as bob")
	d.say("react :thinking_face:", "*maybe* 1")
	d.say("as alice")
	d.say("/internship deadline add 2026-12-15 Application deadline", "Added *Application deadline*")
	d.say("tz bob Pacific/Kiritimati", "@bob is now in Pacific/Kiritimati")
	d.say("tz mars Mars/Olympus", "unknown time zone")
	d.say("clock 2026-12-11T19:00", "Fri Dec 11 2026 19:00 UTC")
	d.say("tz", "@alice  UTC  Fri Dec 11 19:00 UTC", "@bob  Pacific/Kiritimati  Sat Dec 12 09:00 +14")
	// Bob's Dec 12 09:00: 3 days left for him; alice's Dec 11 (4 days left) is not a reminder day.
	d.say("remind", "DM to @bob · internbot", "3 days", "(Tue, Dec 15, 2026)", "0 posted, 1 DM(s) sent")
	d.quit()
}

// TestConsoleReactUsage: react or unreact without an emoji says how to use it.
func TestConsoleReactUsage(t *testing.T) {
	d := startConsole(t, console.Options{})
	for _, cmd := range []string{"react", "unreact", "react a b"} {
		got := d.say(cmd, "usage: "+strings.Fields(cmd)[0]+" :emoji:")
		if strings.Contains(got, "unknown command") {
			t.Errorf("%s: %q", cmd, got)
		}
	}
	d.quit()
}

// TestConsoleNewPollShownOnce: a new poll is printed once, not once more as an edit that changes
// nothing; the first reaction's edit is the next time it appears.
func TestConsoleNewPollShownOnce(t *testing.T) {
	d := startConsole(t, console.Options{})
	got := d.say("/internship poll", "Posted the poll")
	got += d.say("react :x:", "(edited)", "*no* 1")
	if n := strings.Count(got, "Are you applying to the internship?"); n != 2 {
		t.Errorf("the poll was printed %d times for its post and one reaction, want 2:\n%s", n, got)
	}
	d.quit()
}

// TestConsolePromptAfterMessage: a message that arrives while the prompt waits (the poll's edit after
// a reaction) is followed by the prompt again.
func TestConsolePromptAfterMessage(t *testing.T) {
	d := startConsole(t, console.Options{})
	d.say("/internship poll", "Posted the poll")
	d.say("react :x:", "alice> ")
	d.wait("react", "(edited)", "*no* 1")
	deadline := time.Now().Add(10 * time.Second)
	for {
		screen := d.out.String()
		if strings.HasSuffix(screen, "└\nalice> ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no prompt after the edited poll:\n%s", screen)
		}
		time.Sleep(10 * time.Millisecond)
	}
	d.quit()
}

// TestConsoleLineEditing: with the line editor, Up recalls the previous line (history) and the
// arrow keys edit it.
func TestConsoleLineEditing(t *testing.T) {
	d := startConsole(t, console.Options{LineEditing: true})
	d.say("/internship pay", "$12100 monthly")
	got := d.say("\x1b[A", "$12100 monthly") // Up, Enter: the same command again
	if strings.Contains(got, "unknown command") {
		t.Errorf("Up was read as a command:\n%q", got)
	}
	d.say("who\x1b[D\x1b[D\x1b[Dx", "unknown command \"xwho\"") // Left ×3, then type at the start
	d.quit()
}

// TestConsoleFollowsConfig: the console uses the config's channel and admins, and says so; the
// config's admins are the only admins, as in Slack.
func TestConsoleFollowsConfig(t *testing.T) {
	cfg := config.Default()
	cfg.File = "internbot.yaml"
	cfg.Channel = "C0123ABCD"
	cfg.Admins = []string{"U0ADMIN1"}
	d := startConsole(t, console.Options{Config: cfg})
	d.wait("start", "You are @u0admin1 (an admin", "C0123ABCD", "Following internbot.yaml")
	d.say("who", "@u0admin1", "(admin)", "@alice")
	d.say("as alice")
	d.say("/internship poll", "for admins")
	d.say("as u0admin1")
	d.say("/internship poll", "Posted the poll")
	d.say("clock 2026-12-12T09:00")
	d.say("/internship deadline add 2026-12-15 Application deadline", "Added")
	got := d.say("remind", "#internship · internbot", "3 days left", "reminder job ran")
	if strings.Contains(got, "channel_not_found") {
		t.Errorf("remind: %s", got)
	}
	d.quit()
}

// TestConsoleHome: home shows the current person's Home; its buttons are pressed by label; a modal
// the bot opens is filled in at the prompt, field by field, with its errors asked again.
func TestConsoleHome(t *testing.T) {
	d := startConsole(t, console.Options{})
	d.wait("start", "You are @alice")
	d.say("/internship poll", "Posted the poll")
	d.say("react :white_check_mark:", "*yes* 1")
	d.say("home", "Home · internbot", "Your answer: *yes*", "[✓ yes] [maybe] [no]", "Admin: *yes* 1",
		"*Reminder DMs:* on  [Turn reminder DMs off]", "[Add a deadline]")
	d.say("click Turn reminder DMs off", "*Reminder DMs:* off  [Turn reminder DMs on]")
	d.say("click Details", "several buttons say")
	d.say("click Add a deadline", "form · Add a deadline", "Name: ____ (plain_text_input)", "Name> ")
	d.say("Offer", "Date (YYYY-MM-DD)> ")
	d.say("2020-01-01", "! Date: 2020-01-01 is in the past", "Date (YYYY-MM-DD)> ")
	d.say("2026-12-24", "submitted")
	d.say("home", "Offer", "days left")
	d.say("/internship deadline add", "form · Add a deadline")
	d.say("cancel")
	d.say("as bob")
	if out := d.say("home", "Home · internbot", "You haven't answered yet.", "Offer"); strings.Contains(out, "Admin:") {
		t.Errorf("bob sees admin controls:\n%s", out)
	}
	d.quit()
}

// TestConsoleClick: click presses the current user's button by its label, on the poll and then on
// the bot's ephemeral confirmation.
func TestConsoleClick(t *testing.T) {
	d := startConsole(t, console.Options{})
	d.wait("start", "You are @alice")
	d.say("click maybe", "no poll in #internship yet")
	d.say("/internship poll", "Posted the poll")
	d.say("as bob")
	d.say("click maybe", "You answered *maybe*", "*maybe* 1")
	d.say("/internship me", "Your answer to the poll in #internship: *maybe*")
	d.say("click Change to no", "You answered *no*")
	d.say("click Forget my click", "you have no answer")
	d.say("click perhaps", `no button "perhaps"`, "maybe")
	d.say("click", "usage: click LABEL")
	d.quit()
}
