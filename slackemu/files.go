package slackemu

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Slack's external upload flow (https://docs.slack.dev/messaging/working-with-files#uploading_files):
// files.getUploadURLExternal(filename, length) returns an upload_url and a file_id; the app POSTs the
// bytes to upload_url; files.completeUploadExternal(files=[{id,title}], channel_id, initial_comment)
// finishes the upload and shares the file as a message in the channel.

// File is an uploaded file, for inspection.
type File struct {
	ID, Name, Title string
	Length          int // the length getUploadURLExternal was told
	Content         []byte
	Uploaded        bool // the bytes arrived at upload_url
	Completed       bool // files.completeUploadExternal finished it
	Channel         string
	Comment         string
	MessageTS       string
}

func (s *Server) filesGetUploadURLExternal(c *call) (apiResult, string) {
	name := c.p.Get("filename")
	length, err := strconv.Atoi(c.p.Get("length"))
	if name == "" || err != nil || length <= 0 {
		return nil, "invalid_arguments"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "F0" + strings.ToUpper(strconv.FormatUint(s.seq.Add(1), 36)) + randomUpper(4)
	s.files[id] = &File{ID: id, Name: name, Length: length}
	return apiResult{"upload_url": s.baseURL() + "/upload/v1/" + id, "file_id": id}, ""
}

// handleUpload takes the bytes of one file, raw or as the multipart field "file" (slack-go sends
// that), and answers as Slack does: 200 "OK - <length>".
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	if handled, _ := s.injectFailure(w, r, "upload", ""); handled {
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	id := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	var body []byte
	var err error
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		var f io.ReadCloser
		if err = r.ParseMultipartForm(8 << 20); err == nil {
			f, _, err = r.FormFile("file")
		}
		if err == nil {
			body, err = io.ReadAll(f)
			f.Close()
		}
	} else {
		body, err = io.ReadAll(io.LimitReader(r.Body, 8<<20))
	}
	if err != nil {
		http.Error(w, "bad upload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	f, ok := s.files[id]
	if ok && !f.Completed {
		f.Content, f.Uploaded = body, true
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "OK - "+strconv.Itoa(len(body)))
}

func (s *Server) filesCompleteUploadExternal(c *call) (apiResult, string) {
	var want []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if json.Unmarshal([]byte(c.p.Get("files")), &want) != nil || len(want) == 0 {
		return nil, "invalid_arguments"
	}
	ts, _ := s.nextTS()
	s.mu.Lock()
	defer s.mu.Unlock()
	var ch *channel
	if arg := c.p.Get("channel_id"); arg != "" {
		var code string
		if ch, code = s.postableLocked(arg); code != "" {
			return nil, code
		}
	}
	files := make([]*File, len(want))
	for i, w := range want {
		f, ok := s.files[w.ID]
		// A file whose bytes never arrived, or not of the length announced, is not there to share.
		if !ok || !f.Uploaded || f.Completed || len(f.Content) != f.Length {
			return nil, "file_not_found"
		}
		files[i] = f
	}
	var out []map[string]any
	for i, f := range files {
		f.Completed, f.Title = true, want[i].Title
		if f.Title == "" {
			f.Title = f.Name
		}
		out = append(out, map[string]any{"id": f.ID, "title": f.Title})
	}
	if ch != nil {
		comment := c.p.Get("initial_comment")
		m := &message{Message: Message{TS: ts, User: s.opts.BotUserID, BotID: s.opts.BotID, Text: comment,
			Via: "files.completeUploadExternal", Files: make([]string, len(files))}}
		for i, f := range files {
			f.Channel, f.Comment, f.MessageTS = ch.id, comment, ts
			m.Files[i] = f.ID
		}
		s.addMessageLocked(ch, m)
	}
	return apiResult{"files": out}, ""
}

// Files lists the files completed into channel (a channel id, or a user id for their IM), oldest
// first.
func (s *Server) Files(channel string) []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.lookupLocked(channel)
	if ch == nil {
		return nil
	}
	var out []File
	for _, m := range ch.msgs {
		for _, id := range m.Files {
			if f, ok := s.files[id]; ok {
				out = append(out, *f)
			}
		}
	}
	return out
}
