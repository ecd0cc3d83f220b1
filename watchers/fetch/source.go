package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/policyteam/alertbot/watchers"
)

// Validators are what a source watcher keeps in its state for conditional
// requests; embedded in a state struct, they keep the JSON keys "etag" and
// "last_modified".
type Validators struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

func (v *Validators) validators() *Validators { return v }

// State is a source watcher's state as Begin reads it: a pointer to a
// struct that embeds Validators, which is the only way to implement it.
type State interface{ validators() *Validators }

// ErrNoFetcher is returned by Get when a watcher was built without a
// fetcher, as the config checker builds them.
var ErrNoFetcher = errors.New("no fetcher configured")

// Get fetches url for a source watcher: conditionally on v when
// conditional is set, and returns the validators to keep (a 304 that
// names none keeps v's). A 304 to an unconditional request is an error,
// since there is nothing to compare with.
func Get(ctx context.Context, f watchers.Fetcher, url string, opts watchers.Fetch, v Validators, conditional bool) (watchers.FetchResponse, Validators, error) {
	if f == nil {
		return watchers.FetchResponse{}, v, ErrNoFetcher
	}
	req := watchers.FetchRequest{URL: url, Options: opts}
	if conditional {
		req.ETag, req.LastModified = v.ETag, v.LastModified
	}
	resp, err := f.Fetch(ctx, req)
	if err != nil {
		return resp, v, err
	}
	if resp.NotModified && !conditional {
		return resp, v, errors.New("304 Not Modified to an unconditional request")
	}
	if !resp.NotModified || resp.ETag != "" || resp.LastModified != "" {
		v = Validators{ETag: resp.ETag, LastModified: resp.LastModified}
	}
	return resp, v, nil
}

// LoadState decodes a watcher's state into st; first reports that there
// is none yet (the watcher's first check).
func LoadState(data []byte, st any) (first bool, err error) {
	if len(data) == 0 {
		return true, nil
	}
	if err := json.Unmarshal(data, st); err != nil {
		return false, fmt.Errorf("read state: %w", err)
	}
	return false, nil
}

// SaveState encodes a watcher's state for its Result, as LoadState
// decodes it.
func SaveState(st any) ([]byte, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("write state: %w", err)
	}
	return b, nil
}

// Begin starts a source watcher's check the way they all start: it
// decodes state into st (see LoadState), fetches spec.URL with Get,
// conditionally on st's validators unless this is the first check (a 304
// then would leave nothing to compare with), and keeps the validators to
// store in st. first reports the first check.
func Begin(ctx context.Context, f watchers.Fetcher, spec watchers.Spec, state []byte, st State) (resp watchers.FetchResponse, first bool, err error) {
	first, err = LoadState(state, st)
	if err != nil {
		return watchers.FetchResponse{}, first, err
	}
	v := st.validators()
	resp, *v, err = Get(ctx, f, spec.URL, spec.Fetch, *v, !first)
	return resp, first, err
}

// CheckSpec validates the fields every source watcher shares: url (http or
// https), fetch options and tags. Errors are *watchers.FieldError, so the
// config checker points at the field's line.
func CheckSpec(spec watchers.Spec) error {
	if err := ValidateURL(spec.URL); err != nil {
		return &watchers.FieldError{Field: "url", Err: err}
	}
	if err := ValidateOptions(spec.Fetch); err != nil {
		return &watchers.FieldError{Field: "fetch", Err: err}
	}
	for _, t := range spec.Tags {
		if !watchers.TagPattern.MatchString(t) {
			return &watchers.FieldError{Field: "tags", Err: fmt.Errorf("bad tag %q: use lowercase letters, digits, - and _", t)}
		}
	}
	return nil
}
