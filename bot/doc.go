// Package bot is internbot's Slack-facing behaviour: it reads Socket Mode envelopes from one event loop,
// answers /internship commands, turns reactions on poll messages into stored answers, keeps the poll
// messages' counts current and posts deadline reminders.
//
// The bot owns the interfaces it needs (Store) and talks to Slack only through slack-go, so the same code
// runs against Slack or the project's emulator (package slackemu). It never acknowledges a reaction
// before its effect is committed: envelopes are batched into one transaction (group commit) and acked
// after the commit, so an acked answer survives a crash, and a lost ack only causes a redelivery that the
// store recognises by its event_id.
package bot
