package bot_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/internbot/internbot/slackemu"
)

// modal waits for user's open modal with callbackID.
func (h *harness) modal(user, callbackID string) slackemu.View {
	h.t.Helper()
	var v slackemu.View
	h.eventually("the "+callbackID+" modal", func() bool {
		var ok bool
		v, ok = h.emu.OpenModal(user)
		return ok && v.CallbackID == callbackID
	})
	return v
}

func (h *harness) submit(user string, v slackemu.View, values map[string]string) slackemu.ViewResponse {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	r, err := h.emu.SubmitView(ctx, user, v.ID, values)
	if err != nil {
		h.t.Fatalf("submit %s: %v", v.CallbackID, err)
	}
	return r
}

func TestDeadlineModal(t *testing.T) {
	h := newHarness(t)
	h.slash(admin, channel, "deadline add 2026-12-20 Interviews")

	if r := h.slash(admin, channel, "deadline add"); r.Text != "" {
		t.Fatalf("the command answered %q besides opening the modal", r.Text)
	}
	v := h.modal(admin, "deadline_add")
	if in := v.Inputs(); len(in) != 2 || in[0].Type != "plain_text_input" || in[1].Type != "datepicker" {
		t.Fatalf("modal inputs = %+v; want a name and a date picker", in)
	}

	t.Run("ErrPastDate", func(t *testing.T) {
		r := h.submit(admin, v, map[string]string{"deadline_name": "Offer", "deadline_date": "2026-11-30"})
		if r.ResponseAction != "errors" || !strings.Contains(r.Errors["deadline_date"], "in the past") {
			t.Fatalf("response = %+v; want the past date shown on the date field", r)
		}
		if _, open := h.emu.OpenModal(admin); !open {
			t.Fatal("the modal closed on a validation error")
		}
	})
	t.Run("ErrDuplicateName", func(t *testing.T) {
		r := h.submit(admin, v, map[string]string{"deadline_name": "interviews", "deadline_date": "2026-12-22"})
		if r.ResponseAction != "errors" || !strings.Contains(r.Errors["deadline_name"], "already a deadline") {
			t.Fatalf("response = %+v; want the duplicate shown on the name field", r)
		}
	})
	t.Run("ErrEmpty", func(t *testing.T) {
		r := h.submit(admin, v, map[string]string{})
		if r.Errors["deadline_name"] == "" || r.Errors["deadline_date"] == "" {
			t.Fatalf("response = %+v; want both fields flagged", r)
		}
	})
	t.Run("OK", func(t *testing.T) {
		r := h.submit(admin, v, map[string]string{"deadline_name": "Offer deadline", "deadline_date": "2026-12-24"})
		if r.ResponseAction != "" {
			t.Fatalf("response = %+v; want an empty ack that closes the modal", r)
		}
		if _, open := h.emu.OpenModal(admin); open {
			t.Fatal("the modal is still open")
		}
		ds, err := h.db.Deadlines(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, d := range ds {
			found = found || d.Name == "Offer deadline" && d.Date == "2026-12-24" && d.CreatedBy == admin
		}
		if !found {
			t.Fatalf("deadline not stored: %+v", ds)
		}
		h.eventually("the confirmation", func() bool {
			for _, m := range h.emu.Messages(channel) {
				if m.Ephemeral && m.ToUser == admin && strings.Contains(m.Text, "Added *Offer deadline*") {
					return true
				}
			}
			return false
		})
	})

	t.Run("Closed", func(t *testing.T) {
		h.slash(admin, channel, "deadline add")
		v := h.modal(admin, "deadline_add")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := h.emu.CloseModal(ctx, admin, v.ID); err != nil {
			t.Fatalf("view_closed: %v", err)
		}
	})

	t.Run("ErrNotAdmin", func(t *testing.T) {
		if r := h.slash(member, channel, "deadline add"); !strings.Contains(r.Text, "for admins") {
			t.Fatalf("member got %q", r.Text)
		}
		if _, open := h.emu.OpenModal(member); open {
			t.Fatal("a member got the modal")
		}
	})
}

// A views.open that reaches Slack more than 3 s after the command fails with expired_trigger_id; the
// admin is told to try again, and nothing is left half-done.
func TestDeadlineModalExpiredTrigger(t *testing.T) {
	h := newHarness(t)
	h.emu.Fail("views.open", slackemu.Failure{Delay: 300 * time.Millisecond})
	advanced := make(chan struct{})
	go func() {
		defer close(advanced)
		// While views.open is on its way, Slack's clock passes the trigger's 3 s.
		for end := time.Now().Add(3 * time.Second); h.emu.Calls("views.open") == 0 && time.Now().Before(end); {
			time.Sleep(time.Millisecond)
		}
		h.clock.Add(4 * time.Second)
	}()
	defer func() { <-advanced }()
	r := h.slash(admin, channel, "deadline add")
	if !strings.Contains(r.Text, "couldn't open the form") {
		t.Fatalf("reply = %q; want the admin told to try again", r.Text)
	}
	if _, open := h.emu.OpenModal(admin); open {
		t.Fatal("a modal opened with an expired trigger")
	}
	if !strings.Contains(h.logs.String(), "expired_trigger_id") {
		t.Errorf("the log does not say why:\n%s", h.logs)
	}
}

// TestDeadlineModalRateLimited: a trigger_id lives 3 s, so a views.open that Slack rate-limits with a
// longer Retry-After is not waited out (the trigger would be dead by then): the admin is told at once.
func TestDeadlineModalRateLimited(t *testing.T) {
	h := newHarness(t)
	h.emu.Fail("views.open", slackemu.Failure{Status: http.StatusTooManyRequests, RetryAfter: 20, Times: 1})
	r := h.slash(admin, channel, "deadline add")
	if !strings.Contains(r.Text, "couldn't open the form") {
		t.Fatalf("reply = %q; want the admin told to try again", r.Text)
	}
	if got := h.emu.Calls("views.open"); got != 1 {
		t.Errorf("views.open called %d times: a 20 s Retry-After was waited out for a trigger that lives 3 s", got)
	}

	// From the Home, which has no response_url, the admin is told in a DM.
	h.openHome(admin)
	h.emu.Fail("views.open", slackemu.Failure{Status: http.StatusTooManyRequests, RetryAfter: 20, Times: 1})
	h.clickHome(admin, "admin_deadline", "add")
	h.eventually("a DM saying the form could not open", func() bool {
		for _, m := range h.dms(admin) {
			if strings.Contains(m.Text, "couldn't open the form") {
				return true
			}
		}
		return false
	})
}

func TestPostPollShortcut(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := h.emu.Shortcut(ctx, admin, "post_poll"); err != nil {
		t.Fatal(err)
	}
	v := h.modal(admin, "post_poll")
	if in := v.Inputs(); len(in) != 1 || in[0].Type != "conversations_select" {
		t.Fatalf("modal inputs = %+v; want a conversations_select", in)
	}

	// A channel the bot is not in: said on the field, nothing posted.
	r := h.submit(admin, v, map[string]string{"poll_channel": noBotChan})
	if r.ResponseAction != "errors" || !strings.Contains(r.Errors["poll_channel"], "/invite @internbot") {
		t.Fatalf("response = %+v; want the invitation on the channel field", r)
	}
	if _, err := h.db.CurrentPoll(context.Background(), noBotChan); err == nil {
		t.Fatal("a poll was stored for a channel the bot is not in")
	}

	r = h.submit(admin, v, map[string]string{"poll_channel": channel})
	if r.ResponseAction != "" {
		t.Fatalf("response = %+v", r)
	}
	h.eventually("the poll posted", func() bool {
		p, err := h.db.CurrentPoll(context.Background(), channel)
		return err == nil && p.CreatedBy == admin
	})

	// A member's shortcut opens nothing.
	if _, err := h.emu.Shortcut(ctx, member, "post_poll"); err != nil {
		t.Fatal(err)
	}
	h.eventually("the member told", func() bool {
		for _, m := range h.emu.Messages(member) {
			if strings.Contains(m.Text, "Only admins") {
				return true
			}
		}
		return false
	})
	if _, open := h.emu.OpenModal(member); open {
		t.Fatal("a member got the modal")
	}
}

// Closed polls can be reopened from the admin's Home while they are still their channel's newest.
func TestHomeReopen(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	h.slash(admin, channel, "close")
	h.openHome(admin)
	h.waitHome(admin, "admin_reopen")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := h.emu.ClickView(ctx, admin, "admin_reopen"); err != nil {
		t.Fatal(err)
	}
	h.waitHome(admin, "admin_close")
	h.eventually("the poll open again", func() bool {
		q, err := h.db.CurrentPoll(context.Background(), channel)
		return err == nil && q.ID == p.ID && !q.Closed()
	})
	// Reactions count again.
	h.react(member, p, yes)
	if got := h.answer(p, member); got != "yes" {
		t.Fatalf("answer after reopening = %q", got)
	}
}
