package console

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/internbot/internbot/slackemu"
)

// The App Home, buttons and modals at the prompt. `home` opens the current person's Home and prints
// it; `click LABEL` presses one of its buttons; a modal the bot opens (a form) is filled in at the
// prompt one field at a time and submitted, its errors shown on their fields as Slack shows them.

// surfaceWait bounds how long the console waits for the bot to publish a Home or open a modal.
const surfaceWait = 3 * time.Second

// home opens the current person's Home tab and prints what the bot published.
func (s *session) home(ctx context.Context) error {
	before, _ := s.emu.HomeView(s.user.ID)
	ctx, cancel := context.WithTimeout(ctx, surfaceWait)
	defer cancel()
	if _, err := s.emu.OpenHome(ctx, s.user.ID); err != nil {
		return err
	}
	v, err := s.waitHome(ctx, before.Hash)
	if err != nil {
		return err
	}
	s.printHome(v)
	return nil
}

// waitHome waits for the current person's Home to be published with a hash other than old.
func (s *session) waitHome(ctx context.Context, old string) (slackemu.View, error) {
	for {
		if v, ok := s.emu.HomeView(s.user.ID); ok && v.Hash != old {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return slackemu.View{}, fmt.Errorf("the bot published no Home within %v", surfaceWait)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (s *session) printHome(v slackemu.View) {
	s.printf("%s", s.render("Home · internbot", "", v.Blocks))
}

// errNoHomeButton: the Home has no button with that label.
var errNoHomeButton = errors.New("no such button on the Home")

// clickHome presses the button labelled label on the current person's Home. A label several buttons
// share (Details) is followed by the button's value: "Details pay".
func (s *session) clickHome(ctx context.Context, label string) error {
	home, ok := s.emu.HomeView(s.user.ID)
	if !ok {
		return fmt.Errorf("open your Home first: home")
	}
	btn, err := findButton(home.Buttons(), label)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, surfaceWait)
	defer cancel()
	if _, err := s.emu.ClickView(ctx, s.user.ID, btn.ActionID, btn.Value); err != nil {
		return err
	}
	// The click may change the Home (an answer, a setting): show it again once republished.
	wctx, wcancel := context.WithTimeout(ctx, time.Second)
	defer wcancel()
	if v, err := s.waitHome(wctx, home.Hash); err == nil {
		s.printHome(v)
	}
	return nil
}

// findButton is the button whose label is label, or whose label and value are label's words.
func findButton(buttons []slackemu.Button, label string) (slackemu.Button, error) {
	clean := func(t string) string { return strings.ToLower(strings.TrimSpace(strings.TrimPrefix(t, "✓ "))) }
	want := clean(label)
	var found []slackemu.Button
	for _, b := range buttons {
		if clean(b.Text) == want {
			found = append(found, b)
		}
	}
	if len(found) == 0 {
		if head, value, ok := strings.Cut(want, " "); ok {
			for _, b := range buttons {
				if clean(b.Text) == head && strings.EqualFold(b.Value, strings.TrimSpace(value)) {
					return b, nil
				}
			}
		}
		var labels []string
		for _, b := range buttons {
			labels = append(labels, b.Text)
		}
		return slackemu.Button{}, fmt.Errorf("%w: %q; the Home's buttons are: %s", errNoHomeButton, label, strings.Join(labels, ", "))
	}
	if len(found) > 1 {
		var vals []string
		for _, b := range found {
			vals = append(vals, label+" "+b.Value)
		}
		return slackemu.Button{}, fmt.Errorf("several buttons say %q; say which: %s", label, strings.Join(vals, ", "))
	}
	return found[0], nil
}

// shortcut runs the global shortcut "Post the internship poll".
func (s *session) shortcut(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, surfaceWait)
	defer cancel()
	_, err := s.emu.Shortcut(ctx, s.user.ID, "post_poll")
	return err
}

// form is a modal being filled in at the prompt.
type form struct {
	view   slackemu.View
	inputs []slackemu.Input
	ask    []int // the inputs still to ask, in order
	values map[string]string
}

func (f *form) prompt() string {
	in := f.inputs[f.ask[0]]
	hint := ""
	switch in.Type {
	case "datepicker":
		hint = " (YYYY-MM-DD)"
	case "conversations_select", "channels_select":
		hint = " (#channel)"
	}
	return fmt.Sprintf("  %s%s> ", in.Label, hint)
}

// offerModal starts filling in a modal the bot opened for the current person after a command. A
// modal opens after the command's ack for clicks and shortcuts, so those wait for it a moment.
func (s *session) offerModal(ctx context.Context, command string) {
	if s.form != nil {
		return
	}
	wait := time.Duration(0)
	if command == "click" || command == "shortcut" {
		wait = time.Second
	}
	deadline := time.Now().Add(wait)
	for {
		if v, ok := s.emu.OpenModal(s.user.ID); ok && !s.seen[v.ID] {
			if s.seen == nil {
				s.seen = map[string]bool{}
			}
			s.seen[v.ID] = true
			s.startForm(v)
			return
		}
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *session) startForm(v slackemu.View) {
	s.printf("%s", s.render("form · "+v.Title, "", v.Blocks))
	inputs := v.Inputs()
	if len(inputs) == 0 {
		return // nothing to fill in (a Details modal): it was shown
	}
	f := &form{view: v, inputs: inputs, values: map[string]string{}}
	for i := range inputs {
		f.ask = append(f.ask, i)
	}
	s.form = f
	s.printf("  (fill it in field by field; \"cancel\" closes it)\n")
}

// fill takes line as the value of the field being asked; after the last one the modal is submitted.
func (s *session) fill(ctx context.Context, line string) error {
	f := s.form
	if strings.EqualFold(strings.TrimSpace(line), "cancel") {
		s.form = nil
		cctx, cancel := context.WithTimeout(ctx, surfaceWait)
		defer cancel()
		return s.emu.CloseModal(cctx, s.user.ID, f.view.ID)
	}
	in := f.inputs[f.ask[0]]
	value := strings.TrimSpace(line)
	if in.Type == "conversations_select" || in.Type == "channels_select" {
		value = s.channelID(value)
	}
	f.values[in.ActionID] = value
	f.ask = f.ask[1:]
	if len(f.ask) > 0 {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, surfaceWait)
	defer cancel()
	r, err := s.emu.SubmitView(sctx, s.user.ID, f.view.ID, f.values)
	if err != nil {
		s.form = nil
		return err
	}
	if r.ResponseAction != "errors" {
		s.form = nil
		s.printf("  submitted\n")
		return nil
	}
	// Ask again for the fields with errors, each with its message.
	for i, in := range f.inputs {
		if msg, ok := r.Errors[in.BlockID]; ok {
			s.printf("  ! %s: %s\n", in.Label, msg)
			f.ask = append(f.ask, i)
		}
	}
	return nil
}

// channelID reads "#internship" or a channel id.
func (s *session) channelID(v string) string {
	if strings.TrimPrefix(v, "#") == channelName {
		return s.channel
	}
	return strings.TrimPrefix(v, "#")
}
