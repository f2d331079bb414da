package bot_test

import (
	"context"
	"testing"
	"time"
)

// An interaction no handler claims (a button of an older version, a shortcut this bot does not
// have) is acked empty and promptly, so Slack shows the person no error.
func TestInteractionWithoutHandlerAckedEmpty(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, typ := range []string{"block_actions", "shortcut", "view_submission", "view_closed"} {
		in := h.emu.NewInteraction(typ, member, channel, "")
		switch typ {
		case "block_actions":
			in.Fields["actions"] = []map[string]any{{"type": "button", "action_id": "gone:1", "block_id": "b", "value": "v", "action_ts": "1764579600.000100"}}
		case "shortcut":
			in.Fields["callback_id"] = "gone"
		default:
			in.Fields["view"] = map[string]any{"id": "V1", "type": "modal", "callback_id": "gone", "state": map[string]any{"values": map[string]any{}}}
		}
		ack, err := h.emu.Interact(ctx, in)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if len(ack.Payload) != 0 {
			t.Fatalf("%s: acked with %s", typ, ack.Payload)
		}
	}
}
