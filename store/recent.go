package store

import (
	"context"
	"fmt"

	"github.com/policyteam/alertbot/bot"
)

// RecentDeliveries returns the last n (≤ 0: all) deliveries to any
// channel, newest first, with their alerts: what the status page lists.
// It walks the deliveries' primary key backwards, so it costs n rows
// however long the outbox has grown.
func (db *DB) RecentDeliveries(ctx context.Context, n int) ([]bot.DeliveryRecord, error) {
	q := "SELECT " + deliveryCols + ", " + alertCols + ` FROM deliveries d JOIN alerts a ON a.id = d.alert_id
		ORDER BY d.id DESC`
	if n > 0 {
		q += limitClause(n)
	}
	ds, err := db.queryDeliveries(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("recent deliveries: %w", err)
	}
	return trim(ds, n), nil
}
