package bot

import (
	"net"
	"net/http"
	"time"
)

// APITransport is the HTTP transport of a platform's Web API: keep-alive
// with idle connections for parallel sends (two each, for a send and the
// lookup or reply that may overlap it). The default transport keeps two
// per host, so a burst over many channels closed most connections after
// each round of sends and dialled them again.
func APITransport(parallel int) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2 * parallel,
		MaxIdleConnsPerHost:   2 * parallel,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}
