package countdown

import (
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// AtLeads plans ev's reminders at leads instead of its own lead times,
// as cfg's watcher would send them: one alert per reminder after now,
// worded for the moment it is due (its At), keys as the watcher's. A
// person's own extra reminders of an event are planned with it (DESIGN
// §9 "remind me"); changes already listed in ev are taken into account,
// changes made later are not.
func AtLeads(cfg Config, ev *watchers.Event, leads []watchers.Lead, now time.Time) ([]watchers.Alert, error) {
	if len(leads) == 0 {
		return nil, nil
	}
	e := *ev
	e.LeadTimes = leads
	loc, err := e.Location(location(cfg))
	if err != nil {
		return nil, err
	}
	ms, err := appendPlan(nil, &cfg, &e, loc)
	if err != nil {
		return nil, err
	}
	var out []watchers.Alert
	for _, m := range ms {
		if m.Kind != watchers.KindReminder || !m.At.After(now) {
			continue
		}
		a, err := alertFor(&cfg, &e, loc, m, m.At)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
