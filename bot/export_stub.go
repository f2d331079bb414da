package bot

import (
	"context"

	"github.com/internbot/internbot"
)

// exportToDM is replaced by the in-Slack export (h11a) when merged.
func (b *run) exportToDM(ctx context.Context, user string, p internbot.Poll) error {
	b.dm(ctx, user, "Export from the Home is not available yet: run `internbot export` on the bot's machine.")
	return nil
}
