package bot_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/internbot/internbot/slackemu"
)

// homeViewers adds n people in channel and has each open their Home; it returns their ids.
func (h *harness) homeViewers(n int) []string {
	h.t.Helper()
	var out []string
	for i := range n {
		id := fmt.Sprintf("U0VIEW%02d", i)
		h.emu.AddUser(slackemu.User{ID: id, Name: strings.ToLower(id)})
		h.emu.SetMember(channel, id, true)
		h.openHome(id)
		out = append(out, id)
	}
	return out
}

// publishedSince is whose Homes were published after the first n publishes.
func (h *harness) publishedSince(n int) []string {
	return h.emu.Published()[n:]
}

// TestHomeReactionRedrawsFewHomes: with many Homes open, a reaction redraws the reacting member's
// Home and the Homes of the admins who see the poll's counts, nobody else's, and asks
// conversations.members at most once per channel with a poll (not at all with a warm cache).
func TestHomeReactionRedrawsFewHomes(t *testing.T) {
	for _, tc := range []struct {
		name string
		cold bool // the member lists are older than their TTL when the reaction comes
		max  int  // conversations.members calls allowed for the reaction
	}{{"WarmCache", false, 0}, {"ColdCache", true, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addPrivateChannel()
			p := h.postPoll(channel)
			h.postPoll(privChan)
			h.homeViewers(12)
			h.openHome(admin)
			h.openHome(member)
			h.openHome(other)
			if tc.cold {
				h.clock.Add(time.Minute)
			}
			members, published := h.emu.Calls("conversations.members"), len(h.emu.Published())

			h.react(member, p, yes)
			h.waitHome(member, "Your answer: *yes*")
			h.waitHome(admin, "*yes* 1")
			// The refresh pass is over once a Home opened after it is published: opens are published
			// at the latest right after the pass that was under way.
			h.openHome(other)

			calls := h.emu.Calls("conversations.members") - members
			t.Logf("conversations.members calls for one reaction with 15 Homes open, 2 channels with a poll: %d", calls)
			if calls > tc.max {
				t.Errorf("%d conversations.members calls for one reaction, want at most %d", calls, tc.max)
			}
			got := h.publishedSince(published)
			slices.Sort(got)
			if want := []string{admin, member, other}; !slices.Equal(got, want) {
				t.Errorf("Homes published after the reaction: %v, want %v (the member's, the admin's, then the one opened)", got, want)
			}
		})
	}
}

// TestHomeOpenAheadOfRefresh: a Home opened while a refresh pass is publishing every Home is published
// next, not after the pass.
func TestHomeOpenAheadOfRefresh(t *testing.T) {
	h := newHarness(t)
	viewers := h.homeViewers(6)
	fresh := "U0FRESH"
	h.emu.AddUser(slackemu.User{ID: fresh, Name: "fresh"})
	published, calls := len(h.emu.Published()), h.emu.Calls("views.publish")

	hold := make(chan struct{})
	h.emu.Fail("views.publish", slackemu.Failure{Hold: hold})
	// A new deadline shows on every Home: a pass over all of them.
	if r := h.slash(admin, channel, "deadline add 2026-12-15 Applications close"); !strings.Contains(r.Text, "Added") {
		t.Fatalf("deadline add: %q", r.Text)
	}
	h.eventually("the pass's first publish under way", func() bool { return h.emu.Calls("views.publish") > calls })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := h.emu.OpenHome(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	close(hold)
	h.eventually("every Home published", func() bool { return len(h.publishedSince(published)) >= len(viewers)+1 })
	got := h.publishedSince(published)
	if i := slices.Index(got, fresh); i != 1 {
		t.Errorf("Homes published: %v; the one opened during the pass is at %d, want 1 (right after the publish under way)", got, i)
	}
}

// TestHomeMemberEvents: member_joined_channel and member_left_channel drop the bot's cached member
// list, so the Home shows a poll to someone who just joined its channel and stops showing it to
// someone who just left, without waiting for the cache to expire.
func TestHomeMemberEvents(t *testing.T) {
	h := newHarness(t)
	joiner := "U0JOINER"
	h.emu.AddUser(slackemu.User{ID: joiner, Name: "joiner"})
	h.postPoll(channel)
	if home := homeText(h.openHome(joiner)); strings.Contains(home, "<#"+channel+">") {
		t.Fatalf("the Home of someone not in the channel shows its poll: %s", home)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := h.emu.Join(ctx, channel, joiner, true); err != nil {
		t.Fatal(err)
	}
	h.waitHome(joiner, "<#"+channel+">")
	if _, err := h.emu.Join(ctx, channel, joiner, false); err != nil {
		t.Fatal(err)
	}
	h.eventually("the poll gone from the Home of someone who left", func() bool {
		v, _ := h.emu.HomeView(joiner)
		return !strings.Contains(homeText(v), "<#"+channel+">")
	})
}
