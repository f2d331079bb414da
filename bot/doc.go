// Package bot is internbot's Slack-facing behaviour: it reads Socket Mode envelopes from one event loop,
// answers /internship commands, turns reactions on poll messages into stored answers and keeps the poll
// messages' counts current. It wires in the reminder engine (package remind), runs it on its schedule
// and is its way to Slack: reminderSlack renders a remind.Message as Block Kit and sends every call
// through call, the one place 429s are waited out.
//
// The bot declares the interfaces it needs (Store, grouped by use) over the domain's types (package
// internbot) and talks to Slack only through slack-go, so the same code runs against Slack or the
// project's emulator (package slackemu). It must not import storage, slackemu, console or loadtest. It never acknowledges a reaction
// before its effect is committed: envelopes are batched into one transaction (group commit) and acked
// after the commit, so an acked answer survives a crash, and a lost ack only causes a redelivery that the
// store recognises by its event_id.
package bot
