package watchers

import (
	"strings"
	"testing"
	"time"
)

func TestParseLeadBusinessDays(t *testing.T) {
	tests := []struct {
		in      string
		want    Lead
		wantErr string
	}{
		{in: "5bd", want: Lead{N: 5, Unit: 'b'}},
		{in: "0bd", want: Lead{N: 0, Unit: 'b'}},
		{in: " 10bd ", want: Lead{N: 10, Unit: 'b'}},
		{in: "５ｂｄ", want: Lead{N: 5, Unit: 'b'}},
		{in: "1000bd", want: Lead{N: 1000, Unit: 'b'}},
		{in: "1001bd", wantErr: "more than 1000 business days"},
		{in: "bd", wantErr: "business days are a number and bd alone"},
		{in: "1w5bd", wantErr: "do not combine"},
		{in: "5d2bd", wantErr: "do not combine"},
		{in: "-5bd", wantErr: "business days"},
		{in: "5b", wantErr: "bad duration"},
		{in: "5bdd", wantErr: "bad duration"},
		{in: "5db", wantErr: "bad duration"},
	}
	for _, tt := range tests {
		got, err := ParseLead(tt.in)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseLead(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
		case err != nil || got != tt.want:
			t.Errorf("ParseLead(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	// The alert key and the store write a lead with String and read it
	// back with ParseLead.
	if l, _ := ParseLead("5bd"); l.String() != "5bd" || !l.BusinessDays() || l.WholeDays() {
		t.Errorf("5bd: String %q, BusinessDays %v, WholeDays %v", l.String(), l.BusinessDays(), l.WholeDays())
	}
	if l, err := ParseLeads([]string{"10bd", "7d", "1bd"}); err != nil || len(l) != 3 {
		t.Errorf("ParseLeads = %v, %v", l, err)
	}
}

func TestParseDurationRefusesBusinessDays(t *testing.T) {
	if d, err := ParseDuration("5bd"); err == nil || !strings.Contains(err.Error(), "only for lead times") {
		t.Errorf("ParseDuration(5bd) = %v, %v; want an error", d, err)
	}
	if d, err := ParseDuration("5d"); err != nil || d != 5*24*time.Hour {
		t.Errorf("ParseDuration(5d) = %v, %v", d, err)
	}
}
