package main

import (
	"log/slog"
	"net"
	"net/http"

	"github.com/policyteam/alertbot/bot/web"
)

// statusPage registers the status page, event pages and calendar (DESIGN
// §11) on mux for a bot listening on ln, and returns the banner's line
// about them. On a public address without ALERTBOT_WEB_TOKEN the routes
// answer 403 and the log says why: the bot still serves its webhooks and
// /healthz.
func (m *Main) statusPage(mux *http.ServeMux, a *app, ln net.Listener, log *slog.Logger) (string, error) {
	srv, err := web.New(web.Options{
		Events: a.db, Watchers: a.db, Runs: a.bot, Deliveries: a.db, Alerts: a.db, Channels: a.db,
		Location: a.bot.Location, Now: m.now, Logger: log,
		Public: !web.Loopback(ln.Addr()), Token: m.Getenv("ALERTBOT_WEB_TOKEN"),
	})
	if err != nil {
		return "", err
	}
	srv.Routes(mux)
	u := web.PageURL(ln.Addr())
	switch srv.Access() {
	case web.AccessOff:
		log.Warn("status page and calendar off: listening on a public address without ALERTBOT_WEB_TOKEN; set it to serve them",
			"addr", ln.Addr().String())
		return "Status page: off (public address " + ln.Addr().String() + " and no ALERTBOT_WEB_TOKEN).", nil
	case web.AccessToken:
		log.Info("status page", "url", u, "access", "token required (ALERTBOT_WEB_TOKEN)")
		return "Status page: " + u + " (token required; calendar: " + u + "calendar.ics?token=…)", nil
	}
	log.Info("status page", "url", u, "access", "open (loopback address)")
	return "Status page: " + u + " (calendar: " + u + "calendar.ics)", nil
}
