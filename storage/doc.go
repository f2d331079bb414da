// Package storage owns internbot's SQLite database: polls and their answers,
// admin-added deadlines, the bookkeeping that makes reminders exactly-once,
// and user preferences. It stores the domain's types (package internbot) and
// returns its sentinel errors; *DB satisfies the interfaces that bot, remind
// and export declare. It must not import slack-go or any internbot package
// but the domain's.
//
// # Database
//
// Open uses one DSN (WAL, busy_timeout=5000, foreign keys, synchronous=NORMAL,
// BEGIN IMMEDIATE for every transaction), checks that journal_mode really is
// wal, and applies the embedded migration/*.sql in name order, each in its own
// transaction, recording it in the migrations table. A database that records
// a migration this binary does not know is refused with ErrSchemaTooNew (an
// older internbot must not write to a newer schema), and a file that is not a
// SQLite database is refused; in both cases the file is not modified.
//
// Writes are short transactions serialized inside the process (one writer,
// as WAL allows); reads are single statements on the connection pool and run
// alongside the writer and other processes.
//
// secure_delete is on, so deleted content is overwritten with zeros. SQLite's
// automatic checkpoint is off; a goroutine runs PASSIVE checkpoints after
// writes (they never block, and never pass a reader such as Litestream), and
// TRUNCATE ones, which empty the WAL file, after ForgetUser and when the WAL
// exceeds its cap, retried with backoff while readers block them.
// journal_size_limit caps the WAL file between checkpoints.
//
// LockRun is the run lock: an flock on PATH.lock held by the one process that
// serves the database.
//
// # Schema
//
//   - polls, poll_options: a poll and the options it was created with. A
//     poll keeps its options whatever the configuration says later.
//   - reaction_events: the raw log of reaction events on known polls
//     (including the ones ignored by rule, flagged ignored=1) and of the
//     changes made by ReconcilePoll (source='reconcile'). event_id is unique
//     when not empty, which is how duplicates are detected.
//   - reaction_facts: per (poll, user, option reaction), whether it is
//     present and the Slack timestamp of the event that said so, as text
//     (event_ts) and as integer microseconds (event_us).
//   - answers: per (poll, user), the answer derived from reaction_facts and
//     the time it last changed; maintained in the transaction that changes
//     the facts.
//   - deadlines; reminders (one row per deadline and local day); dm_plans
//     and dms (the recipients of a day's reminder DMs); prefs.
//   - heartbeat: one row CheckWritable rewrites and commits.
//
// # Answers
//
// A user's answer on a poll is the option whose reaction is present and was
// added by the event with the greatest event_ts, compared numerically as
// microseconds; ties go to the option listed first. No option reaction
// present means no answer. So thinking_face then white_check_mark answers
// "yes"; removing white_check_mark falls back to "maybe"; removing both
// leaves no answer.
//
// A fact (poll, user, reaction) is only changed by an event whose event_ts
// is >= the stored one, so events delivered out of order converge to the
// same state. An event whose EventID was seen before is a duplicate and
// changes nothing. Events on closed polls, for reactions that are not one of
// the poll's options, with an empty user or an unparsable event_ts are
// ignored (logged with ignored=1, no fact or answer changes); events on
// unknown polls are ignored and not logged. An empty event_ts means "now".
//
// # Reconcile policy
//
// After downtime the bot reads the poll message's reactions from Slack and
// calls ReconcilePoll with them and asOf, a time taken just before the read.
// Stored reactions that Slack no longer shows are recorded as removed;
// reactions Slack shows that are not stored are recorded as added at asOf,
// since they happened while we were offline in an unknown order.
// Consequently newly discovered reactions count as newer than those already
// known, and among several newly discovered for one user the option listed
// first in the poll wins. Facts recorded by events at or after asOf raced
// the snapshot and are newer than it: reconcile leaves them alone, and late
// events older than asOf no longer change what reconcile set.
//
// # Reminders
//
// Reminder rows (deadline, day) go pending → posted; ClaimReminder counts
// attempts, tells the caller whether it was already posted, and leases the
// row to one process at a time (a lease that is not renewed runs out, so a
// crashed holder blocks no one for long). A DM plan for
// (deadline, day) is a snapshot of its recipients, created once; each DM goes
// pending → sending → sent, and a failure puts it back to pending with the
// reason, so the next tick retries. A DM left in "sending" by a crash may or
// may not have been delivered; the caller decides what to do with it.
package storage
