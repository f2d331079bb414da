// Package slackemu owns the Slack emulator that end-to-end tests and the
// `internbot console` command run the real bot against: Slack's Web API over
// HTTP and Socket Mode over WebSocket, on loopback, in one process. It
// stands for Slack, so it must not import another internbot package.
//
// The bot needs no special code path: it is built with
// slack.OptionAPIURL(emu.APIURL()) and runs slack-go's socketmode.Client,
// which calls apps.connections.open, dials the returned ws:// URL, receives
// hello, answers pings and acks envelopes exactly as it would with Slack.
//
// # What is emulated
//
// Web API (POST or GET at /api/<method>; form, multipart or JSON bodies; the
// token as "Authorization: Bearer" or a token parameter):
// auth.test, apps.connections.open, chat.postMessage, chat.postEphemeral,
// chat.update, chat.delete, chat.getPermalink, reactions.add,
// reactions.remove, reactions.get, conversations.open,
// conversations.history, conversations.info, conversations.members,
// users.info, views.publish, views.open, views.update. Replies use Slack's
// {"ok":true,...} / {"ok":false,"error":"..."} envelopes with HTTP 200, and
// the error codes Slack documents for each method (not_authed, invalid_auth,
// not_allowed_token_type, channel_not_found, not_in_channel, no_text,
// msg_too_long, invalid_blocks, message_not_found, cant_update_message,
// already_reacted, no_reaction, user_not_found, user_not_in_channel, ...).
// Unknown methods get HTTP 404 with unknown_method. apps.connections.open
// takes only an app token (xapp-), only in the Authorization header, and
// returns a single-use ws:// URL. Fail injects 429 + Retry-After (which
// slack-go turns into *slack.RateLimitedError), 5xx, ok:false errors or
// delays per method (or per method and channel); RevokeTokens makes every
// call invalid_auth.
//
// Socket Mode (WebSocket at /link): hello with num_connections, debug_info and
// connection_info; server pings every Options.PingInterval and pongs to the
// app's pings (both switchable with SetPings); envelopes shaped as in Slack's
// Socket Mode docs (events_api with retry_attempt/retry_reason,
// slash_commands with accepts_response_payload, interactive, disconnect with
// reason and debug_info); up to 10 simultaneous connections, envelopes going
// to the newest; acks ({"envelope_id":...,"payload":...}) resolve the
// Pending that Send returned. DropSockets and Disconnect exercise slack-go's
// reconnects; SendOversized streams one frame of any size, for an app's read
// limit.
//
// Drivers build payloads as Slack would: SlashCommand (with a working
// response_url and a trigger_id), AddReaction / RemoveReaction (state change,
// then reaction_added / reaction_removed in an event_callback with event_id,
// event_time, authorizations, item and item_user), and ReactionEvent /
// EventCallback for hand-made events. The bot's own reactions.add and
// reactions.remove also produce events to the socket, as in Slack.
//
// Views: views.publish keeps one Home tab per user, views.open a modal for
// the user whose trigger_id it spends, views.update either by view_id or
// external_id; all three check Slack's view limits (100 blocks, 3,000
// characters a section, 75 a button label, a modal's 24-character title,
// submit required with input blocks, unique block and action ids) and
// answer invalid_arguments, view_too_large, hash_conflict, not_found or
// user_not_found. OpenHome sends app_home_opened (tab "home", with the
// current view once one was published); SubmitView and CloseModal send
// view_submission and view_closed and read a response_action as Slack does
// (errors must name input blocks); Shortcut sends a global shortcut;
// ClickView presses a button on a Home or modal; HomeView, Views and
// OpenModal inspect them, and Published lists whose Home each views.publish
// was.
//
// The world is set up with AddUser, AddChannel (Channel.Private hides a
// channel the bot is not in), SetMember (quietly), Join (sends
// member_joined_channel or member_left_channel) and PostAsUser, and
// inspected with Messages, Message, Reactions, IMChannel, Calls, Acks and
// Subscribe.
//
// Timestamps come from Options.Now (swappable with SetNow) as
// "<seconds>.<6 digits>" and are strictly increasing per server; every HTTP
// response's Date header is on the same clock.
//
// # Known differences from Slack
//
//   - One workspace, one app, one bot; no OAuth, scopes, enterprise grids,
//     shared channels, files, thread views (conversations.replies), MPIMs,
//     views.push, or view stacks beyond the newest open modal.
//   - The bot has no chat:write.public: posting to a public channel it is
//     not in is not_in_channel. reactions.* do not check membership.
//   - Events Slack cannot deliver (no socket open) are dropped. Unacked
//     events_api envelopes are re-sent (retry_attempt 1..3, retry_reason
//     "timeout") only when Options.Redeliver or SetRedeliver asks for it;
//     Slack's own retry schedule is not modelled.
//   - Messages carry no generated rich_text blocks, attachments are accepted
//     but not stored, unfurl/mrkdwn/parse/link_names flags are ignored, and
//     reactions.get always returns every reacting user (as full=true does).
//   - conversations.history omits thread replies (as Slack does) but parents
//     get no reply_count/latest_reply; ephemerals and deleted messages are
//     never returned by the Web API, though Messages() shows them.
//   - A non-empty slash command ack payload is recorded as an ephemeral reply
//     (Via "ack") unless its response_type is "in_channel", as Slack shows it.
//   - response_url replies follow Slack's limits (5 uses, 30 minutes of
//     emulator time); replace_original/delete_original act on the message
//     the previous reply through the same URL created.
//   - RevokeTokens also drops every socket, so slack-go's next
//     apps.connections.open fails with invalid_auth and RunContext returns.
//   - Rate limits only happen when injected with Fail.
//   - Acks() keeps every ack for the server's lifetime; long benchmarks
//     should expect that memory.
//   - Methods accept channel names and user ids where Slack wants a
//     conversation id; more sockets than Slack allows get HTTP 429 rather
//     than a disconnect with reason too_many_websockets.
//   - Block Kit is checked for the limits a bot can run into (block count,
//     header 150 and section 3000 characters, fields, context elements),
//     not against the whole schema. A slash command acked after 3 seconds
//     fails with ErrAckTimeout and its reply is dropped, as in Slack.
package slackemu
