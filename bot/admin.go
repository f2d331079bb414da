package bot

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// adminTTL is how long a users.info answer about admin rights is trusted.
const adminTTL = 10 * time.Minute

// adminCache remembers who is a workspace admin or owner, so admin commands cost one users.info per
// person per adminTTL.
type adminCache struct {
	now     func() time.Time
	mu      sync.Mutex
	entries map[string]adminEntry
}

type adminEntry struct {
	admin bool
	at    time.Time
}

func newAdminCache(now func() time.Time) *adminCache {
	return &adminCache{now: now, entries: make(map[string]adminEntry)}
}

func (c *adminCache) get(user string) (bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[user]
	if !ok || c.now().Sub(e.at) > adminTTL {
		return false, false
	}
	return e.admin, true
}

func (c *adminCache) put(user string, admin bool) {
	c.mu.Lock()
	c.entries[user] = adminEntry{admin: admin, at: c.now()}
	c.mu.Unlock()
}

// isAdmin says whether user may run admin commands: the config's admins when it lists any, else the
// workspace's admins and owners.
func (b *Bot) isAdmin(ctx context.Context, user string) (bool, error) {
	if len(b.cfg.Admins) > 0 {
		return slices.Contains(b.cfg.Admins, user), nil
	}
	if admin, ok := b.admins.get(user); ok {
		return admin, nil
	}
	var u *slack.User
	err := b.call(ctx, "users.info", true, func(ctx context.Context) error {
		var err error
		u, err = b.client.GetUserInfoContext(ctx, user)
		return err
	})
	if err != nil {
		return false, err
	}
	admin := !u.Deleted && (u.IsAdmin || u.IsOwner || u.IsPrimaryOwner)
	b.admins.put(user, admin)
	return admin, nil
}
