package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/bwmarrin/discordgo"

	"github.com/policyteam/alertbot/bot"
)

// dmCache remembers the direct-message channel of each user for the life
// of the process: Discord returns the same channel every time it is
// opened, so a restart only opens it once more.
type dmCache struct {
	mu       sync.Mutex
	channels map[string]string // user id → DM channel id
}

func (c *dmCache) get(user string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.channels[user]
	return ch, ok
}

func (c *dmCache) put(user, ch string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.channels == nil {
		c.channels = map[string]string{}
	}
	c.channels[user] = ch
}

// channel returns the Discord channel to post to for a channel id as
// bot.Outgoing carries it: the id itself, or for a direct message to a
// user ("dm:<user id>", DESIGN §9) the DM channel that
// POST /users/@me/channels {recipient_id} opens.
// https://discord.com/developers/docs/resources/user#create-dm
func (a *Adapter) channel(ctx context.Context, ch string) (string, error) {
	user, ok := bot.DMUser(ch)
	if !ok {
		// A checked id cannot change the request path.
		if err := bot.CheckID("discord", ch); err != nil {
			return "", bot.Permanent(fmt.Errorf("discord: bad channel id %q: %w", ch, err))
		}
		return ch, nil
	}
	if err := bot.CheckID("discord", user); err != nil {
		return "", bot.Permanent(fmt.Errorf("discord: bad user id %q for a direct message: %w", user, err))
	}
	if dm, ok := a.dms.get(user); ok {
		return dm, nil
	}
	endpoint := discordgo.EndpointUserChannels("@me")
	what := "open a direct message to " + user
	if err := a.gate(ctx, what, http.MethodPost, endpoint); err != nil {
		return "", err
	}
	resp, err := a.session.RequestWithBucketID(http.MethodPost, endpoint, map[string]string{"recipient_id": user}, endpoint, discordgo.WithContext(ctx))
	if err != nil {
		return "", classify(what, err)
	}
	var c struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp, &c); err != nil || bot.CheckID("discord", c.ID) != nil {
		return "", bot.Transient(fmt.Errorf("discord: %s: no channel id in the answer", what), 0)
	}
	a.dms.put(user, c.ID)
	a.log.Debug("direct message opened", "user", user, "channel", c.ID)
	return c.ID, nil
}
