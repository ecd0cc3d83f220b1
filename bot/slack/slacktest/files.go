package slacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
)

// Upload is one file through Slack's three-step upload, as the fake saw
// each step: files.getUploadURLExternal (name, length, alt text), the
// POST of the bytes to the upload URL, and files.completeUploadExternal
// (title, channel, comment).
// https://docs.slack.dev/messaging/working-with-files#uploading_files
type Upload struct {
	FileID   string
	Token    string // of getUploadURLExternal
	Filename string
	Length   int    // as declared to getUploadURLExternal
	AltText  string // alt_txt
	// Data are the bytes posted to the upload URL: the multipart part
	// "file" or the raw body. UploadAuth is that request's Authorization
	// header.
	Data       []byte
	Uploaded   bool
	UploadAuth string
	// Set by files.completeUploadExternal.
	Completed      bool
	Title          string
	Channel        string // channel_id
	InitialComment string
	ThreadTS       string
}

// FailFiles makes the next files.getUploadURLExternal calls fail with fs,
// in order (e.g. MissingScope("files:write")). A channel failing through
// FailChannel fails files.completeUploadExternal to it too (e.g.
// SlackError("not_in_channel")).
func (s *Server) FailFiles(fs ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failFiles = append(s.failFiles, fs...)
}

// NotMember makes the bot a non-member of channel: sharing a file there
// answers not_in_channel, as Slack does even where chat:write.public lets
// the bot post messages. conversations.join makes it a member of a public
// channel; a private one answers method_not_supported_for_channel_type.
func (s *Server) NotMember(channel string, private bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outside == nil {
		s.outside = make(map[string]bool)
	}
	s.outside[channel] = private
}

// Joins returns the channels of conversations.join calls, in order.
func (s *Server) Joins() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.joins...)
}

// join fakes conversations.join.
// https://docs.slack.dev/reference/methods/conversations.join
func (s *Server) join(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	channel := r.PostForm.Get("channel")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.joins = append(s.joins, channel)
	s.notify()
	switch private, outside := s.outside[channel]; {
	case s.Token != "" && requestToken(r) != s.Token:
		writeFailure(w, &Failure{Error: "invalid_auth"})
	case s.deleted[channel]:
		writeFailure(w, &Failure{Error: "channel_not_found"})
	case outside && private:
		writeFailure(w, &Failure{Error: "method_not_supported_for_channel_type"})
	default:
		delete(s.outside, channel)
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": map[string]any{"id": channel, "is_member": true}})
	}
}

// Uploads returns every upload begun, in order.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Upload, len(s.files))
	for i, u := range s.files {
		out[i] = *u
	}
	return out
}

// WaitShared waits until n uploads were completed (shared to a channel)
// and returns every upload.
func (s *Server) WaitShared(ctx context.Context, n int) ([]Upload, error) {
	err := s.waitFor(ctx, fmt.Sprintf("%d shared files", n), func() bool {
		k := 0
		for _, u := range s.files {
			if u.Completed {
				k++
			}
		}
		return k >= n
	})
	return s.Uploads(), err
}

// getUploadURL fakes files.getUploadURLExternal.
// https://docs.slack.dev/reference/methods/files.getUploadURLExternal
func (s *Server) getUploadURL(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	u := &Upload{Token: requestToken(r), Filename: r.PostForm.Get("filename"), AltText: r.PostForm.Get("alt_txt")}
	n, err := strconv.Atoi(r.PostForm.Get("length"))
	s.mu.Lock()
	defer s.mu.Unlock()
	var fail *Failure
	switch {
	case s.Token != "" && u.Token != s.Token:
		fail = &Failure{Error: "invalid_auth"}
	case u.Filename == "" || err != nil || n <= 0:
		fail = &Failure{Error: "invalid_arguments"}
	case len(s.failFiles) > 0:
		f := s.failFiles[0]
		s.failFiles = s.failFiles[1:]
		fail = &f
	}
	if fail != nil {
		writeFailure(w, fail)
		return
	}
	u.Length = n
	u.FileID = fmt.Sprintf("F%07d", len(s.files)+1)
	s.files = append(s.files, u)
	s.notify()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "upload_url": s.URL + "upload/" + u.FileID, "file_id": u.FileID})
}

// upload takes the bytes of a file at its upload URL, as a multipart
// form's "file" part or as the raw body, and answers as Slack does.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	data, err := uploadedBytes(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.file(r.PathValue("id"))
	if u == nil {
		http.Error(w, "unknown upload", http.StatusNotFound)
		return
	}
	u.Data, u.Uploaded, u.UploadAuth = data, true, r.Header.Get("Authorization")
	s.notify()
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "OK - %d", len(data))
}

func uploadedBytes(r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(nil, r.Body, 50<<20)
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return io.ReadAll(body)
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return nil, fmt.Errorf("no file part: %w", err)
		}
		if p.FormName() == "file" {
			return io.ReadAll(p)
		}
	}
}

// completeUpload fakes files.completeUploadExternal: every file must have
// been uploaded; channel_id shares them there.
// https://docs.slack.dev/reference/methods/files.completeUploadExternal
func (s *Server) completeUpload(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(r.PostForm.Get("files")), &files); err != nil || len(files) == 0 {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	channel := r.PostForm.Get("channel_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Token != "" && requestToken(r) != s.Token {
		writeFailure(w, &Failure{Error: "invalid_auth"})
		return
	}
	if f, ok := s.failChan[channel]; ok && channel != "" {
		writeFailure(w, &f)
		return
	}
	if _, out := s.outside[channel]; out && channel != "" {
		writeFailure(w, &Failure{Error: "not_in_channel"})
		return
	}
	if channel != "" && s.deleted[channel] {
		writeFailure(w, &Failure{Error: "channel_not_found"})
		return
	}
	var out []map[string]any
	for _, f := range files {
		u := s.file(f.ID)
		if u == nil || !u.Uploaded {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "file_not_found"})
			return
		}
		out = append(out, map[string]any{"id": u.FileID, "title": f.Title, "name": u.Filename})
	}
	for _, f := range files {
		u := s.file(f.ID)
		u.Completed, u.Title, u.Channel = true, f.Title, channel
		u.InitialComment, u.ThreadTS = r.PostForm.Get("initial_comment"), r.PostForm.Get("thread_ts")
	}
	s.notify()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "files": out})
}

// file returns the upload with id; call with s.mu held.
func (s *Server) file(id string) *Upload {
	for _, u := range s.files {
		if strings.EqualFold(u.FileID, id) {
			return u
		}
	}
	return nil
}
