// Package remind is internbot's reminder engine: before each deadline it posts one reminder to the
// configured channel and sends one DM to each person who answered yes or maybe, exactly once per
// deadline and local day, however often it runs, across crashes, restarts and other processes
// (`internbot remind`). It owns the schedule (a wall-clock cron that neither skips nor repeats a day
// across DST, a catch-up run at start, retries with backoff within the day), the list of deadlines
// (the config's and the ones admins added), and the order of every step of a delivery:
//
//  1. Claim the (deadline, day) lease in the store; a process that finds it held leaves it alone.
//  2. Before posting again, look for a message posted earlier with the same key (a crash between the
//     post and its record, a lost response): found, it is recorded, not posted again.
//  3. Renew the lease, post, record the ts. A DM's plan (its recipients) is a snapshot made once; each
//     DM is marked sending before it is sent, and one Slack refuses for good is recorded as failed.
//
// It declares what it needs: Store (the bookkeeping, deadlines and poll reads; *storage.DB implements
// it) and Slack (post with a key, find by key, open a DM, permalink, the channel checks that keep a
// poll private). It decides what a reminder says (Message), not how it looks: the Slack side renders
// it, so the recipient's zone or Slack's date tokens are the renderer's business.
//
// It must not import bot, storage, slackemu or slack-go: it is tested with a fake Slack and a real
// SQLite store, without Socket Mode.
package remind
