package fetch

import (
	"context"
	"errors"
	"testing"

	"github.com/policyteam/alertbot/watchers"
)

// fixed answers every fetch with resp and records the request.
type fixed struct {
	resp watchers.FetchResponse
	got  watchers.FetchRequest
}

func (f *fixed) Fetch(_ context.Context, req watchers.FetchRequest) (watchers.FetchResponse, error) {
	f.got = req
	return f.resp, nil
}

func TestGet(t *testing.T) {
	old := Validators{ETag: `"v1"`, LastModified: "Mon, 01 Dec 2025 00:00:00 GMT"}
	ctx := context.Background()

	f := &fixed{resp: watchers.FetchResponse{Body: []byte("x"), ETag: `"v2"`}}
	_, v, err := Get(ctx, f, "https://example.org/a", watchers.Fetch{}, old, true)
	if err != nil || v != (Validators{ETag: `"v2"`}) || f.got.ETag != `"v1"` || f.got.LastModified != old.LastModified {
		t.Errorf("conditional 200: validators %+v, request %+v, err %v", v, f.got, err)
	}

	f = &fixed{resp: watchers.FetchResponse{NotModified: true}}
	if _, v, err = Get(ctx, f, "https://example.org/a", watchers.Fetch{}, old, true); err != nil || v != old {
		t.Errorf("304 without validators: %+v, %v; want the old ones kept", v, err)
	}
	if _, _, err = Get(ctx, f, "https://example.org/a", watchers.Fetch{}, old, false); err == nil || f.got.ETag != "" {
		t.Errorf("304 to an unconditional request: err %v, request %+v", err, f.got)
	}
	if _, _, err = Get(ctx, nil, "https://example.org/a", watchers.Fetch{}, old, true); !errors.Is(err, ErrNoFetcher) {
		t.Errorf("nil fetcher: %v", err)
	}
}

func TestLoadState(t *testing.T) {
	var st struct {
		Validators
		N int `json:"n"`
	}
	if first, err := LoadState(nil, &st); !first || err != nil {
		t.Errorf("nil state: %v, %v", first, err)
	}
	if first, err := LoadState([]byte(`{"etag":"\"e\"","n":3}`), &st); first || err != nil || st.ETag != `"e"` || st.N != 3 {
		t.Errorf("state: %+v, %v, %v", st, first, err)
	}
	if _, err := LoadState([]byte(`{`), &st); err == nil {
		t.Error("corrupt state accepted")
	}
}

func TestBeginAndSaveState(t *testing.T) {
	type state struct {
		Validators
		N int `json:"n"`
	}
	ctx := context.Background()
	spec := watchers.Spec{URL: "https://example.org/a"}

	// First check: unconditional, validators kept in the state.
	f := &fixed{resp: watchers.FetchResponse{Body: []byte("x"), ETag: `"v1"`}}
	var st state
	_, first, err := Begin(ctx, f, spec, nil, &st)
	if err != nil || !first || f.got.ETag != "" || st.ETag != `"v1"` {
		t.Fatalf("first: first %v, request %+v, state %+v, err %v", first, f.got, st, err)
	}
	st.N = 7
	data, err := SaveState(st)
	if err != nil {
		t.Fatal(err)
	}

	// Later check: conditional on the saved validators; a bare 304
	// keeps them, and the rest of the state comes back.
	f = &fixed{resp: watchers.FetchResponse{NotModified: true}}
	var next state
	resp, first, err := Begin(ctx, f, spec, data, &next)
	if err != nil || first || !resp.NotModified || f.got.ETag != `"v1"` || next.ETag != `"v1"` || next.N != 7 {
		t.Fatalf("later: first %v, request %+v, state %+v, err %v", first, f.got, next, err)
	}

	if _, _, err := Begin(ctx, f, spec, []byte("{"), &next); err == nil {
		t.Error("corrupt state accepted")
	}
}
