package slackemu

import (
	"bytes"
	"encoding/json"
	"testing"
)

const memoPayload = `{"response_type":"ephemeral","text":"the posting","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"x"}}]}`

// checkMemoAck fails if replyMemo.ack reads frame and json.Unmarshal reads it differently.
func checkMemoAck(t *testing.T, m *replyMemo, frame []byte) bool {
	t.Helper()
	got, ok := m.ack(frame)
	if !ok {
		return false
	}
	var want ackMsg
	if err := json.Unmarshal(frame, &want); err != nil {
		t.Fatalf("memo read %+v where json.Unmarshal fails (%v): %q", got, err, frame)
	}
	if got.EnvelopeID != want.EnvelopeID || !bytes.Equal(got.Payload, want.Payload) {
		t.Fatalf("memo %+v\njson %+v\nframe %q", got, want, frame)
	}
	return true
}

func memoWithPayload(t testing.TB) *replyMemo {
	m := &replyMemo{}
	if _, err := m.decode([]byte(memoPayload)); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestReplyMemoAck(t *testing.T) {
	m := memoWithPayload(t)
	for _, tc := range []struct {
		frame string
		fast  bool
	}{
		{`{"envelope_id":"e-1","payload":` + memoPayload + `}`, true},
		{`{"envelope_id":"e-1","payload":` + memoPayload + ` }`, false},
		{`{"envelope_id":"e-1","payload":` + memoPayload + `}x`, false},
		{`{"envelope_id":"e\u002d1","payload":` + memoPayload + `}`, false},
		{`{"envelope_id":"","payload":` + memoPayload + `}`, false},
		{`{"envelope_id":"e-1","payload":{"text":"other"}}`, false},
		{`{"envelope_id":"e-1","payload":` + memoPayload + `,"payload":null}`, false},
		{`{"envelope_id":"e-1"}`, false},
	} {
		if got := checkMemoAck(t, m, []byte(tc.frame)); got != tc.fast {
			t.Errorf("ack ok = %v, want %v for %s", got, tc.fast, tc.frame)
		}
	}
}

func FuzzReplyMemoAck(f *testing.F) {
	f.Add([]byte(`{"envelope_id":"e-1","payload":` + memoPayload + `}`))
	f.Add([]byte(`{"envelope_id":"e-1","payload":` + memoPayload + `,"payload":null}`))
	m := memoWithPayload(f)
	f.Fuzz(func(t *testing.T, frame []byte) { checkMemoAck(t, m, frame) })
}
