package bot

import (
	"log/slog"
	"unicode/utf8"

	"github.com/policyteam/alertbot/watchers"
)

// CutText cuts s to at most max runes by watchers.Truncate, the one rule
// for limits (rune boundaries, an ellipsis), and logs the cut on log: what
// was cut, the limit, and how many runes it had and kept. Adapters fit
// every text to a platform limit with it, so no cut goes unnoticed. A nil
// log cuts without logging, for trial cuts and previews whose result is
// not sent.
func CutText(log *slog.Logger, what, s string, max int) string {
	out, cut := watchers.Truncate(s, max)
	if cut && log != nil {
		log.Warn("text cut to fit a limit", "part", what, "limit", max,
			"runes", utf8.RuneCountInString(s), "kept", utf8.RuneCountInString(out))
	}
	return out
}
