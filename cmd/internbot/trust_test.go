package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/internbot/internbot/slackemu"
)

// fileHits counts the occurrences of s in each of the database's files that exist.
func fileHits(t *testing.T, db, s string) map[string]int {
	t.Helper()
	hits := map[string]int{}
	for _, p := range []string{db, db + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil {
			if !os.IsNotExist(err) {
				t.Fatal(err)
			}
			continue
		}
		hits[filepath.Base(p)] = bytes.Count(b, []byte(s))
	}
	return hits
}

func totalHits(h map[string]int) int {
	n := 0
	for _, v := range h {
		n += v
	}
	return n
}

// TestForgetLeavesNoBytes: after `/internship forget`, the user's id is in neither the database file
// nor its WAL, while the bot runs (right after the reply) and after a clean stop. The user answered,
// changed their answer, turned reminders off and was in the raw event log; other users' rows churn
// around theirs so that their cells move between pages.
func TestForgetLeavesNoBytes(t *testing.T) {
	const who = "U0FORGETME"
	emu := startEmulator(t)
	emu.AddUser(slackemu.User{ID: who, Name: "forgetme"})
	emu.SetMember("C0INTERN", who, true)
	db := filepath.Join(t.TempDir(), "internbot.db")
	stop, stderr := startBot(t, emu, adminEnv(t, emu, db))
	ts := pollMessage(t, emu)
	ctx := context.Background()

	react := func(user, name string, add bool) {
		t.Helper()
		var err error
		if add {
			_, err = emu.AddReaction(ctx, user, "C0INTERN", ts, name)
		} else {
			_, err = emu.RemoveReaction(ctx, user, "C0INTERN", ts, name)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		react(fmt.Sprintf("U%04d", i), "white_check_mark", true)
		if i == 10 {
			react(who, "thinking_face", true)
			react(who, "white_check_mark", true)
			react(who, "thinking_face", false)
		}
	}
	for i := range 20 {
		react(fmt.Sprintf("U%04d", i), "x", true)
	}
	for _, text := range []string{"remind off", "me"} {
		if _, err := emu.SlashCommand(ctx, who, "C0INTERN", "/internship", text); err != nil {
			t.Fatal(err)
		}
	}
	if h := fileHits(t, db, who); totalHits(h) == 0 {
		t.Fatalf("the user is not in the files before forget (%v): not the test this means", h)
	}

	ack, err := emu.SlashCommand(ctx, who, "C0INTERN", "/internship", "forget")
	if err != nil || !strings.Contains(string(ack.Payload), "deleted everything") {
		t.Fatalf("forget: %v %s", err, ack.Payload)
	}
	if h := fileHits(t, db, who); totalHits(h) != 0 {
		t.Errorf("while running, after forget, the user id is still in the files: %v", h)
	}
	// More activity after the forget must not bring old pages back.
	for i := range 20 {
		react(fmt.Sprintf("U%04d", i), "x", false)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	if h := fileHits(t, db, who); totalHits(h) != 0 {
		t.Errorf("after a clean stop, the user id is still in the files: %v", h)
	}
}
