package slackemu_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/internbot/internbot/slackemu"
)

func homeView(blocks ...slack.Block) slack.HomeTabViewRequest {
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}

func section(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
}

// TestViews_PublishLimits: views.publish keeps Slack's view limits: 100 blocks, 3,000 characters a
// section, 75 a button's label, a home view only, a known user; a stale hash is hash_conflict.
func TestViews_PublishLimits(t *testing.T) {
	emu := MustStart(t, slackemu.Options{})
	api := newAPI(emu, emu.BotToken())
	ctx := testCtx(t)
	publish := func(v slack.HomeTabViewRequest, user, hash string) (*slack.ViewResponse, error) {
		req := slack.PublishViewContextRequest{UserID: user, View: v}
		if hash != "" {
			req.Hash = &hash
		}
		return api.PublishViewContext(ctx, req)
	}
	var hundred []slack.Block
	for i := range 100 {
		hundred = append(hundred, section(fmt.Sprint(i)))
	}
	first, err := publish(homeView(hundred...), userAlice, "")
	if err != nil {
		t.Fatalf("100 blocks: %v", err)
	}
	if v, ok := emu.HomeView(userAlice); !ok || v.ID != first.ID || v.Hash != first.Hash {
		t.Fatalf("HomeView = %+v, %v; want the published view", v, ok)
	}
	btn := func(label string) slack.Block {
		return slack.NewActionBlock("", slack.NewButtonBlockElement("a", "v", slack.NewTextBlockObject(slack.PlainTextType, label, false, false)))
	}
	for name, v := range map[string]slack.HomeTabViewRequest{
		"101 blocks":         homeView(append(hundred, section("one more"))...),
		"3001 characters":    homeView(section(strings.Repeat("x", 3001))),
		"76-character label": homeView(btn(strings.Repeat("b", 76))),
		"a modal":            {Type: slack.VTModal, Blocks: slack.Blocks{BlockSet: []slack.Block{section("x")}}},
	} {
		if _, err := publish(v, userAlice, ""); err == nil || !strings.Contains(err.Error(), "invalid_arguments") {
			t.Errorf("%s: err = %v; want invalid_arguments", name, err)
		}
	}
	if _, err := publish(homeView(btn(strings.Repeat("b", 75))), userAlice, ""); err != nil {
		t.Errorf("75-character label: %v", err)
	}
	if _, err := publish(homeView(section("x")), "U0NOBODY", ""); err == nil || !strings.Contains(err.Error(), "user_not_found") {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := publish(homeView(section("x")), userAlice, first.Hash); err == nil || !strings.Contains(err.Error(), "hash_conflict") {
		t.Errorf("stale hash: %v", err)
	}
}
