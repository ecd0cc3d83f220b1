package calendar

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// zone turns wall-clock times of a calendar into instants and back. It is
// either an IANA location or the calendar's own VTIMEZONE definition.
type zone interface {
	// fromWall returns the instant of a wall-clock time whose fields are
	// carried in a UTC time.Time.
	fromWall(w time.Time) time.Time
	// in returns t in the zone, so that it formats with the zone's offset.
	in(t time.Time) time.Time
	// name is the IANA name, "" when the zone has none.
	name() string
}

// locZone is a zone backed by a *time.Location.
type locZone struct {
	loc  *time.Location
	iana string
}

// fromWall follows RFC 5545 §3.3.5 in DST gaps and overlaps, by the one
// rule of watchers.Date.
func (z locZone) fromWall(w time.Time) time.Time {
	return watchers.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, z.loc)
}
func (z locZone) in(t time.Time) time.Time { return t.In(z.loc) }
func (z locZone) name() string             { return z.iana }

// legacyZones maps deprecated or non-IANA zone names seen in real
// calendars to canonical IANA names. The deprecated names mostly still
// load, but the canonical name is what the rest of the bot shows.
var legacyZones = map[string]string{
	"japan":               "Asia/Tokyo",
	"rok":                 "Asia/Seoul",
	"prc":                 "Asia/Shanghai",
	"roc":                 "Asia/Taipei",
	"hongkong":            "Asia/Hong_Kong",
	"singapore":           "Asia/Singapore",
	"gb":                  "Europe/London",
	"us/eastern":          "America/New_York",
	"us-eastern":          "America/New_York", // libical test data
	"us/central":          "America/Chicago",
	"us/mountain":         "America/Denver",
	"us/pacific":          "America/Los_Angeles",
	"us/alaska":           "America/Anchorage",
	"us/hawaii":           "Pacific/Honolulu",
	"us/arizona":          "America/Phoenix",
	"canada/eastern":      "America/Toronto",
	"canada/central":      "America/Winnipeg",
	"canada/pacific":      "America/Vancouver",
	"canada/saskatchewan": "America/Regina",
	"mexico/general":      "America/Mexico_City",
	"australia/canberra":  "Australia/Sydney",
	"australia/act":       "Australia/Sydney",
	"australia/nsw":       "Australia/Sydney",
	"asia/calcutta":       "Asia/Kolkata",
	"asia/katmandu":       "Asia/Kathmandu",
	"asia/rangoon":        "Asia/Yangon",
	"z":                   "UTC",
	"zulu":                "UTC",
	"gmt":                 "UTC",
	"etc/gmt":             "UTC",
	"etc/utc":             "UTC",
	"universal":           "UTC",
	"utc":                 "UTC",
}

// windowsZones maps Windows time zone names (as Outlook and Exchange write
// them in TZID) to IANA names, after the Unicode CLDR windowsZones table
// (territory "001").
var windowsZones = map[string]string{
	"dateline standard time":          "Etc/GMT+12",
	"utc-11":                          "Etc/GMT+11",
	"aleutian standard time":          "America/Adak",
	"hawaiian standard time":          "Pacific/Honolulu",
	"marquesas standard time":         "Pacific/Marquesas",
	"alaskan standard time":           "America/Anchorage",
	"utc-09":                          "Etc/GMT+9",
	"pacific standard time (mexico)":  "America/Tijuana",
	"utc-08":                          "Etc/GMT+8",
	"pacific standard time":           "America/Los_Angeles",
	"us mountain standard time":       "America/Phoenix",
	"mountain standard time (mexico)": "America/Mazatlan",
	"mountain standard time":          "America/Denver",
	"yukon standard time":             "America/Whitehorse",
	"central america standard time":   "America/Guatemala",
	"central standard time":           "America/Chicago",
	"easter island standard time":     "Pacific/Easter",
	"central standard time (mexico)":  "America/Mexico_City",
	"canada central standard time":    "America/Regina",
	"sa pacific standard time":        "America/Bogota",
	"eastern standard time (mexico)":  "America/Cancun",
	"eastern standard time":           "America/New_York",
	"haiti standard time":             "America/Port-au-Prince",
	"cuba standard time":              "America/Havana",
	"us eastern standard time":        "America/Indiana/Indianapolis",
	"turks and caicos standard time":  "America/Grand_Turk",
	"paraguay standard time":          "America/Asuncion",
	"atlantic standard time":          "America/Halifax",
	"venezuela standard time":         "America/Caracas",
	"central brazilian standard time": "America/Cuiaba",
	"sa western standard time":        "America/La_Paz",
	"pacific sa standard time":        "America/Santiago",
	"newfoundland standard time":      "America/St_Johns",
	"tocantins standard time":         "America/Araguaina",
	"e. south america standard time":  "America/Sao_Paulo",
	"sa eastern standard time":        "America/Cayenne",
	"argentina standard time":         "America/Argentina/Buenos_Aires",
	"greenland standard time":         "America/Nuuk",
	"montevideo standard time":        "America/Montevideo",
	"magallanes standard time":        "America/Punta_Arenas",
	"saint pierre standard time":      "America/Miquelon",
	"bahia standard time":             "America/Bahia",
	"utc-02":                          "Etc/GMT+2",
	"mid-atlantic standard time":      "Etc/GMT+2",
	"azores standard time":            "Atlantic/Azores",
	"cape verde standard time":        "Atlantic/Cape_Verde",
	"utc":                             "UTC",
	"coordinated universal time":      "UTC",
	"gmt standard time":               "Europe/London",
	"greenwich standard time":         "Atlantic/Reykjavik",
	"sao tome standard time":          "Africa/Sao_Tome",
	"morocco standard time":           "Africa/Casablanca",
	"w. europe standard time":         "Europe/Berlin",
	"central europe standard time":    "Europe/Budapest",
	"romance standard time":           "Europe/Paris",
	"central european standard time":  "Europe/Warsaw",
	"w. central africa standard time": "Africa/Lagos",
	"jordan standard time":            "Asia/Amman",
	"gtb standard time":               "Europe/Bucharest",
	"middle east standard time":       "Asia/Beirut",
	"egypt standard time":             "Africa/Cairo",
	"e. europe standard time":         "Europe/Chisinau",
	"syria standard time":             "Asia/Damascus",
	"west bank standard time":         "Asia/Hebron",
	"south africa standard time":      "Africa/Johannesburg",
	"fle standard time":               "Europe/Kiev",
	"israel standard time":            "Asia/Jerusalem",
	"south sudan standard time":       "Africa/Juba",
	"kaliningrad standard time":       "Europe/Kaliningrad",
	"sudan standard time":             "Africa/Khartoum",
	"libya standard time":             "Africa/Tripoli",
	"namibia standard time":           "Africa/Windhoek",
	"arabic standard time":            "Asia/Baghdad",
	"turkey standard time":            "Europe/Istanbul",
	"arab standard time":              "Asia/Riyadh",
	"belarus standard time":           "Europe/Minsk",
	"russian standard time":           "Europe/Moscow",
	"e. africa standard time":         "Africa/Nairobi",
	"volgograd standard time":         "Europe/Volgograd",
	"iran standard time":              "Asia/Tehran",
	"arabian standard time":           "Asia/Dubai",
	"astrakhan standard time":         "Europe/Astrakhan",
	"azerbaijan standard time":        "Asia/Baku",
	"russia time zone 3":              "Europe/Samara",
	"mauritius standard time":         "Indian/Mauritius",
	"saratov standard time":           "Europe/Saratov",
	"georgian standard time":          "Asia/Tbilisi",
	"caucasus standard time":          "Asia/Yerevan",
	"afghanistan standard time":       "Asia/Kabul",
	"west asia standard time":         "Asia/Tashkent",
	"ekaterinburg standard time":      "Asia/Yekaterinburg",
	"pakistan standard time":          "Asia/Karachi",
	"qyzylorda standard time":         "Asia/Qyzylorda",
	"india standard time":             "Asia/Kolkata",
	"sri lanka standard time":         "Asia/Colombo",
	"nepal standard time":             "Asia/Kathmandu",
	"central asia standard time":      "Asia/Bishkek",
	"bangladesh standard time":        "Asia/Dhaka",
	"omsk standard time":              "Asia/Omsk",
	"myanmar standard time":           "Asia/Yangon",
	"se asia standard time":           "Asia/Bangkok",
	"altai standard time":             "Asia/Barnaul",
	"w. mongolia standard time":       "Asia/Hovd",
	"north asia standard time":        "Asia/Krasnoyarsk",
	"n. central asia standard time":   "Asia/Novosibirsk",
	"tomsk standard time":             "Asia/Tomsk",
	"china standard time":             "Asia/Shanghai",
	"north asia east standard time":   "Asia/Irkutsk",
	"singapore standard time":         "Asia/Singapore",
	"w. australia standard time":      "Australia/Perth",
	"taipei standard time":            "Asia/Taipei",
	"ulaanbaatar standard time":       "Asia/Ulaanbaatar",
	"aus central w. standard time":    "Australia/Eucla",
	"transbaikal standard time":       "Asia/Chita",
	"tokyo standard time":             "Asia/Tokyo",
	"north korea standard time":       "Asia/Pyongyang",
	"korea standard time":             "Asia/Seoul",
	"yakutsk standard time":           "Asia/Yakutsk",
	"cen. australia standard time":    "Australia/Adelaide",
	"aus central standard time":       "Australia/Darwin",
	"e. australia standard time":      "Australia/Brisbane",
	"aus eastern standard time":       "Australia/Sydney",
	"west pacific standard time":      "Pacific/Port_Moresby",
	"tasmania standard time":          "Australia/Hobart",
	"vladivostok standard time":       "Asia/Vladivostok",
	"lord howe standard time":         "Australia/Lord_Howe",
	"bougainville standard time":      "Pacific/Bougainville",
	"russia time zone 10":             "Asia/Srednekolymsk",
	"magadan standard time":           "Asia/Magadan",
	"norfolk standard time":           "Pacific/Norfolk",
	"sakhalin standard time":          "Asia/Sakhalin",
	"central pacific standard time":   "Pacific/Guadalcanal",
	"russia time zone 11":             "Asia/Kamchatka",
	"new zealand standard time":       "Pacific/Auckland",
	"utc+12":                          "Etc/GMT-12",
	"fiji standard time":              "Pacific/Fiji",
	"kamchatka standard time":         "Asia/Kamchatka",
	"chatham islands standard time":   "Pacific/Chatham",
	"utc+13":                          "Etc/GMT-13",
	"tonga standard time":             "Pacific/Tongatapu",
	"samoa standard time":             "Pacific/Apia",
	"line islands standard time":      "Pacific/Kiritimati",

	// Display names that older Outlook versions wrote as TZID, after the
	// "(GMT+10.00) " prefix is removed.
	"canberra, melbourne, sydney":                             "Australia/Sydney",
	"osaka, sapporo, tokyo":                                   "Asia/Tokyo",
	"seoul":                                                   "Asia/Seoul",
	"beijing, chongqing, hong kong, urumqi":                   "Asia/Shanghai",
	"eastern time (us & canada)":                              "America/New_York",
	"central time (us & canada)":                              "America/Chicago",
	"mountain time (us & canada)":                             "America/Denver",
	"pacific time (us & canada)":                              "America/Los_Angeles",
	"pacific time (us & canada); tijuana":                     "America/Los_Angeles",
	"greenwich mean time : dublin, edinburgh, lisbon, london": "Europe/London",
	"dublin, edinburgh, lisbon, london":                       "Europe/London",
	"amsterdam, berlin, bern, rome, stockholm, vienna":        "Europe/Berlin",
	"brussels, copenhagen, madrid, paris":                     "Europe/Paris",
	"brasilia":                                                "America/Sao_Paulo",
	"brasília":                                                "America/Sao_Paulo",
}

// zoneResolver resolves TZID parameters, caching what it loaded: one
// calendar names the same zone on every event.
type zoneResolver struct {
	cache map[string]zone // by TZID as written; nil value: unresolvable
	vtz   map[string]*vtimezone
}

// newZoneResolver builds the calendar's own VTIMEZONEs that name no zone
// we know, with their rules expanded up to limit (a wall time), here
// where ctx is at hand, within maxVTZTransitionTotal
// transitions in all: a zone beyond that budget is left unbuilt, and its
// TZID reads as floating. It fails only when ctx is done.
func newZoneResolver(ctx context.Context, vtz map[string]*vtimezone, limit time.Time) (*zoneResolver, error) {
	r := &zoneResolver{cache: map[string]zone{}, vtz: vtz}
	// One definition is listed under two keys (collectVTimezones); build
	// each once, in a fixed order so that the budget is spent the same
	// way on every check.
	var defs []*vtimezone
	for _, v := range vtz {
		if !slices.Contains(defs, v) {
			defs = append(defs, v)
		}
	}
	slices.SortFunc(defs, func(a, b *vtimezone) int { return strings.Compare(a.tzid, b.tzid) })
	budget := maxVTZTransitionTotal
	for _, v := range defs {
		if _, _, ok := lookupZone(v.tzid); ok {
			continue
		}
		if _, _, ok := lookupZone(v.location); ok {
			continue
		}
		z, err := v.build(ctx, limit, &budget)
		if err != nil {
			return nil, err
		}
		v.built = z
	}
	return r, nil
}

// resolve returns the zone for a TZID, or nil if it cannot be resolved.
func (r *zoneResolver) resolve(tzid string) zone {
	if z, ok := r.cache[tzid]; ok {
		return z
	}
	var z zone
	if loc, name, ok := lookupZone(tzid); ok {
		z = locZone{loc: loc, iana: name}
	} else if v := r.vtz[tzid]; v != nil {
		// An unknown name with its own definition: try the definition's
		// X-LIC-LOCATION, then its observances.
		if loc, name, ok := lookupZone(v.location); ok {
			z = locZone{loc: loc, iana: name}
		} else if v.built != nil {
			z = v.built
		}
	}
	r.cache[tzid] = z
	return z
}

// lookupZone resolves a zone name: IANA names, legacy aliases, Windows
// names, Outlook display names with a "(GMT+09.00) " prefix, and names
// with a vendor prefix such as "/citadel.org/20260108_1/Asia/Tokyo".
func lookupZone(tzid string) (*time.Location, string, bool) {
	s := strings.TrimSpace(strings.Trim(strings.TrimSpace(tzid), `"`))
	if s == "" || len(s) > 200 {
		return nil, "", false
	}
	if loc, name, ok := lookupName(s); ok {
		return loc, name, true
	}
	// "(GMT+10.00) Canberra, Melbourne, Sydney", "(UTC-03:00) Brasília".
	if strings.HasPrefix(s, "(") {
		if i := strings.IndexByte(s, ')'); i > 0 {
			if loc, name, ok := lookupName(strings.TrimSpace(s[i+1:])); ok {
				return loc, name, true
			}
		}
	}
	// Vendor prefixes: try the last three, then two path elements, so
	// that America/Argentina/Buenos_Aires and Asia/Tokyo are both found.
	if strings.Contains(s, "/") {
		parts := strings.Split(strings.Trim(s, "/"), "/")
		for n := 3; n >= 2; n-- {
			if len(parts) < n {
				continue
			}
			if loc, name, ok := lookupName(strings.Join(parts[len(parts)-n:], "/")); ok {
				return loc, name, true
			}
		}
	}
	return nil, "", false
}

// lookupName resolves one candidate name without prefix handling.
func lookupName(s string) (*time.Location, string, bool) {
	key := strings.ToLower(s)
	name := s
	if n, ok := legacyZones[key]; ok {
		name = n
	} else if n, ok := windowsZones[key]; ok {
		name = n
	}
	if !validZoneName(name) {
		return nil, "", false
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, "", false
	}
	return loc, name, true
}

// validZoneName keeps LoadLocation to plausible IANA names: it would map
// "" to UTC and "Local" to the machine's zone.
func validZoneName(s string) bool {
	if s == "" || s == "Local" || strings.HasPrefix(s, "/") || strings.Contains(s, "..") {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '/', c == '_', c == '-', c == '+':
		default:
			return false
		}
	}
	return true
}
