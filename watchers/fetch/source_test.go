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
