package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/policyteam/alertbot/bot"
)

const deliveryCols = `d.id, d.alert_id, d.channel, d.platform, d.state, d.attempts, d.next_try, d.last_error,
	d.message_id, d.created_at, d.sent_at, d.claimed_at, d.claim_owner`

// scanDelivery reads deliveryCols followed by alertCols.
func scanDelivery(s scanner) (bot.DeliveryRecord, error) {
	var (
		d                                 bot.DeliveryRecord
		nextTry, created, sentAt, claimed int64
	)
	a, err := scanAlert(s, &d.ID, &d.AlertID, &d.Channel, &d.Platform, &d.State, &d.Attempts, &nextTry,
		&d.LastError, &d.MessageID, &created, &sentAt, &claimed, &d.ClaimOwner)
	if err != nil {
		return d, err
	}
	d.Alert = a.Alert
	d.NextTry, d.Created, d.SentAt, d.ClaimedAt = fromMS(nextTry), fromMS(created), fromMS(sentAt), fromMS(claimed)
	return d, nil
}

// scanDeliveryRow reads deliveryCols alone; the alert is filled in after
// (fillAlerts).
func scanDeliveryRow(s scanner) (bot.DeliveryRecord, error) {
	var (
		d                                 bot.DeliveryRecord
		nextTry, created, sentAt, claimed int64
	)
	if err := s.Scan(&d.ID, &d.AlertID, &d.Channel, &d.Platform, &d.State, &d.Attempts, &nextTry,
		&d.LastError, &d.MessageID, &created, &sentAt, &claimed, &d.ClaimOwner); err != nil {
		return d, err
	}
	d.NextTry, d.Created, d.SentAt, d.ClaimedAt = fromMS(nextTry), fromMS(created), fromMS(sentAt), fromMS(claimed)
	return d, nil
}

func (db *DB) queryDeliveries(ctx context.Context, q string, args ...any) ([]bot.DeliveryRecord, error) {
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bot.DeliveryRecord
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// dueWhere selects a platform's ($1) pending deliveries due by $2 that no
// earlier pending delivery of their channel is waiting ahead of: a
// channel's deliveries go in order, so after a failed send its later ones
// wait for the retry instead of overtaking it. The state is written out
// (not a parameter) so that the queue's partial indexes serve it.
const dueWhere = `d.platform = $1 AND d.state = 'pending' AND d.next_try <= $2
	AND NOT EXISTS (SELECT 1 FROM deliveries e
		WHERE e.channel = d.channel AND e.state = 'pending' AND e.next_try > $2 AND e.id < d.id)`

const pendingQuery = "SELECT " + deliveryCols + ", " + alertCols + ` FROM deliveries d JOIN alerts a ON a.id = d.alert_id
	WHERE ` + dueWhere + ` ORDER BY d.id`

// PendingDeliveries returns up to limit (≤ 0: all) pending deliveries of a
// platform whose next try is due by now, oldest first, with their alerts.
// A delivery behind an earlier one of its channel that is not due yet is
// not returned.
func (db *DB) PendingDeliveries(ctx context.Context, platform string, now time.Time, limit int) ([]bot.DeliveryRecord, error) {
	q := pendingQuery
	if limit > 0 {
		q += limitClause(limit)
	}
	ds, err := db.queryDeliveries(ctx, q, platform, ms(now))
	if err != nil {
		return nil, fmt.Errorf("pending deliveries for %s: %w", platform, err)
	}
	return trim(ds, limit), nil
}

// ClaimDue picks up to c.Limit of c.Platform's deliveries due at c.Now,
// oldest first, from at most c.Channels channels that no other owner
// holds — unclaimed, expired, or c.Owner's own — and claims those
// channels for c.Owner until c.Now + c.TTL, in one transaction: a
// channel's deliveries go to one process at a time, so its order and
// pacing hold across replicas. On PostgreSQL the channels are locked with
// FOR UPDATE SKIP LOCKED, so workers claiming at the same moment take
// different channels instead of waiting for each other. A zero TTL is a
// sole owner's (SQLite): its claims do not expire and other owners'
// claims are stale.
//
// The records show each delivery's own claim as it was (ClaimOwner,
// ClaimedAt): a delivery claimed by another owner may have been posted.
// The deliveries themselves are claimed by RecordDeliveries, just before
// they are sent.
func (db *DB) ClaimDue(ctx context.Context, c bot.DueClaim) ([]bot.DeliveryRecord, error) {
	db.recent.claiming()
	if c.TTL == 0 && c.Limit > 0 && c.Limit <= maxSoleClaim {
		return db.claimDueSole(ctx, c)
	}
	until := claimUntil(c.Now, c.TTL)
	chq := claimChannelsQuery(c.Channels, db.dialect.skipLocked)
	dq := claimedQuery(c.Limit)
	qs := []string{chq, dq}
	for _, n := range inBuckets {
		qs = append(qs, claimDeliveriesSQL[n], alertsByIDSQL[n])
	}
	if err := db.write.prepareAll(ctx, qs); err != nil {
		return nil, fmt.Errorf("claim due deliveries for %s: %w", c.Platform, err)
	}
	var out []bot.DeliveryRecord
	err := db.inRowTx(ctx, func(t *tx) error {
		out = nil
		res, err := t.ExecContext(ctx, chq, c.Owner, ms(until), c.Platform, ms(c.Now), flag(c.TTL == 0))
		if err != nil {
			return fmt.Errorf("claim channels: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		out, err = db.claimedRecords(ctx, t, c, dq, c.Platform, ms(c.Now), c.Owner, ms(until))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim due deliveries for %s: %w", c.Platform, err)
	}
	return out, nil
}

// claimedRecords reads the deliveries query selects (deliveryCols) in t,
// keeps the first c.Limit, gives them their alerts and, with
// c.Deliveries, claims them.
func (db *DB) claimedRecords(ctx context.Context, t *tx, c bot.DueClaim, query string, args ...any) ([]bot.DeliveryRecord, error) {
	out, err := scanRows(ctx, t, query, args, scanDeliveryRow)
	if err != nil {
		return nil, err
	}
	out = trim(out, c.Limit)
	if err := db.fillAlerts(ctx, t, out); err != nil {
		return nil, err
	}
	if c.Deliveries {
		if err := claimRecords(ctx, t, c, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// maxSoleClaim is the largest batch claimDueSole takes: the channels of
// a batch are listed in one statement, as parameters.
const maxSoleClaim = 256

// soleChannelsQuery lists, for the sole deliverer, the channels of
// platform $1's deliveries due at $2 that no earlier
// pending delivery of their channel waits ahead of, the longest due
// first: one row per delivery, read from the pending index, so a pass
// costs what it takes rather than what is queued.
const soleChannelsQuery = `SELECT d.channel FROM deliveries d
	WHERE ` + dueWhere + ` ORDER BY d.next_try, d.id`

// inBuckets are the sizes of the channel lists claimDueSole binds: a
// list is padded to the next size by repeating its last channel, so a
// few prepared statements serve every batch.
var inBuckets = []int{1, 8, 32, 128, maxSoleClaim}

// bySize builds a statement text for each of inBuckets' list sizes.
func bySize(text func(n int) string) map[int]string {
	m := make(map[int]string, len(inBuckets))
	for _, n := range inBuckets {
		m[n] = text(n)
	}
	return m
}

// soleClaimSQL claims the n channels from $3 on for the sole owner $1
// until $2, by list size. Channels the owner already holds so are left
// alone: rewriting them on every pass would be most of what a pass costs.
var soleClaimSQL = bySize(func(n int) string {
	return `UPDATE channel_claims SET owner = $1, until = $2
		WHERE channel IN (` + params(3, n, false) + `) AND (owner <> $1 OR until <> $2)`
})

// claimDeliveriesSQL claims the n deliveries from $3 on for owner $1 at
// $2, as claimsSQL does without its check of the channel claim (the caller
// holds the channels in the same transaction), by list size.
var claimDeliveriesSQL = bySize(func(n int) string {
	return `UPDATE deliveries SET claim_owner = $1,
		claimed_at = CASE WHEN claimed_at = 0 THEN $2 ELSE claimed_at END
		WHERE id IN (` + params(3, n, false) + `) AND state = 'pending'`
})

// soleSQL are claimDueSole's statement texts for one batch limit.
type soleSQL struct {
	channels string         // soleChannelsQuery with the limit
	due      map[int]string // the due deliveries of n channels from $3 on, in order
	all      []string       // every text the transaction runs, to prepare before it
}

// soleSQLs holds a *soleSQL by limit, built on first use: a pass would
// otherwise build the same texts again.
var soleSQLs sync.Map

func soleStatements(limit int) *soleSQL {
	if s, ok := soleSQLs.Load(limit); ok {
		return s.(*soleSQL)
	}
	s := &soleSQL{
		channels: soleChannelsQuery + limitClause(limit),
		due: bySize(func(n int) string {
			return "SELECT " + deliveryCols + ` FROM deliveries d
		WHERE d.channel IN (` + params(3, n, false) + `) AND ` + dueWhere + ` ORDER BY d.id` + limitClause(limit)
		}),
	}
	s.all = []string{s.channels}
	for _, n := range inBuckets {
		s.all = append(s.all, soleClaimSQL[n], s.due[n], claimDeliveriesSQL[n], alertsByIDSQL[n])
	}
	got, _ := soleSQLs.LoadOrStore(limit, s)
	return got.(*soleSQL)
}

// claimDueSole is ClaimDue for the outbox's only deliverer (TTL 0): it
// reads the first c.Limit due deliveries' channels from the pending index,
// claims those channels (other owners' claims are stale), and returns
// their due deliveries, each channel's in order.
func (db *DB) claimDueSole(ctx context.Context, c bot.DueClaim) ([]bot.DeliveryRecord, error) {
	q := soleStatements(c.Limit)
	// Statements run inside the transaction are prepared before it.
	if err := db.write.prepareAll(ctx, q.all); err != nil {
		return nil, fmt.Errorf("claim due deliveries for %s: %w", c.Platform, err)
	}
	var out []bot.DeliveryRecord
	err := db.inRowTx(ctx, func(t *tx) error {
		out = nil
		rows, err := t.QueryContext(ctx, q.channels, c.Platform, ms(c.Now))
		if err != nil {
			return err
		}
		var channels []string
		seen := map[string]bool{}
		for n := 0; rows.Next() && n < c.Limit; n++ {
			var ch string
			if err := rows.Scan(&ch); err != nil {
				rows.Close()
				return err
			}
			if !seen[ch] && (c.Channels <= 0 || len(channels) < c.Channels) {
				seen[ch] = true
				channels = append(channels, ch)
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		// At most c.Limit ≤ maxSoleClaim channels: one list.
		return padded(len(channels), inBuckets, func(i int) any { return channels[i] }, func(list []any) error {
			if _, err := t.ExecContext(ctx, soleClaimSQL[len(list)], append([]any{c.Owner, never}, list...)...); err != nil {
				return fmt.Errorf("claim channels: %w", err)
			}
			var err error
			out, err = db.claimedRecords(ctx, t, c, q.due[len(list)], append([]any{c.Platform, ms(c.Now)}, list...)...)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("claim due deliveries for %s: %w", c.Platform, err)
	}
	return out, nil
}

// claimRecords claims the deliveries of ds for c.Owner at c.Now
// (DueClaim.Deliveries).
func claimRecords(ctx context.Context, t *tx, c bot.DueClaim, ds []bot.DeliveryRecord) error {
	return padded(len(ds), inBuckets, func(i int) any { return ds[i].ID }, func(ids []any) error {
		if _, err := t.ExecContext(ctx, claimDeliveriesSQL[len(ids)], append([]any{c.Owner, ms(c.Now)}, ids...)...); err != nil {
			return fmt.Errorf("claim deliveries: %w", err)
		}
		return nil
	})
}

// claimUntil is the expiry of a claim made at now for ttl; a zero ttl
// (a sole owner's claim) never expires.
func claimUntil(now time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		return fromMS(never)
	}
	return now.Add(ttl)
}

// claimChannelsQuery claims for owner $1 until $2 up to n channels of
// platform $3 whose first pending delivery is due at $4 and that no
// other owner holds ($5 = 1: the caller is the sole deliverer and every
// other claim is stale), the channel with the oldest pending delivery
// first so that none starves. lock is the dialect's row locking clause.
func claimChannelsQuery(n int, lock string) string {
	limit := ""
	if n > 0 {
		// A literal, as in limitClause, but exact: n channels are
		// claimed, not a bucket's worth.
		limit = " LIMIT " + strconv.Itoa(n)
	}
	return `UPDATE channel_claims SET owner = $1, until = $2 WHERE channel IN (
	SELECT c.channel FROM channel_claims c
	WHERE c.channel IN (SELECT d.channel FROM deliveries d WHERE d.platform = $3 AND d.state = 'pending' AND d.next_try <= $4)
	AND (c.owner = $1 OR c.until <= $4 OR $5 = 1)
	AND (SELECT f.next_try FROM deliveries f WHERE f.channel = c.channel AND f.state = 'pending' ORDER BY f.id LIMIT 1) <= $4
	ORDER BY (SELECT MIN(f.id) FROM deliveries f WHERE f.channel = c.channel AND f.state = 'pending'), c.channel` + limit + lock + `)`
}

// claimedQuery selects the due deliveries of platform $1 at $2 in the
// channels that owner $3 claimed until $4, which marks the channels of
// this claim.
func claimedQuery(limit int) string {
	q := "SELECT " + deliveryCols + ` FROM deliveries d
	JOIN channel_claims c ON c.channel = d.channel
	WHERE c.owner = $3 AND c.until = $4 AND ` + dueWhere + ` ORDER BY d.id`
	if limit > 0 {
		q += limitClause(limit)
	}
	return q
}

// ExtendClaims extends owner's channel claims that have not expired at
// now and whose channel still has pending deliveries, to until, and
// returns how many channels owner holds. A worker calls it while it
// delivers, so a live process keeps its channels however long a send
// takes, and a dead one's expire.
func (db *DB) ExtendClaims(ctx context.Context, owner string, now, until time.Time) (int, error) {
	res, err := db.write.ExecContext(ctx, `UPDATE channel_claims SET until = $1
		WHERE owner = $2 AND until > $3 AND until < $1
		AND EXISTS (SELECT 1 FROM deliveries d WHERE d.channel = channel_claims.channel AND d.state = 'pending')`,
		ms(until), owner, ms(now))
	if err != nil {
		return 0, fmt.Errorf("extend claims of %s: %w", owner, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("extend claims of %s: %w", owner, err)
	}
	return int(n), nil
}

// ReleaseClaims ends owner's channel claims, at shutdown, so that other
// processes take the channels at once instead of after the expiry, and
// wakes their workers. The deliveries keep their claims: another owner
// still looks up those whose send may have happened.
func (db *DB) ReleaseClaims(ctx context.Context, owner string) error {
	err := db.inRowTx(ctx, func(t *tx) error {
		rows, err := t.QueryContext(ctx, `UPDATE channel_claims SET until = 0 WHERE owner = $1 AND until > 0 RETURNING platform`, owner)
		if err != nil {
			return err
		}
		platforms, err := scanStrings(rows)
		if err != nil {
			return err
		}
		slices.Sort(platforms)
		return db.notifyDeliveries(ctx, t, slices.Compact(platforms))
	})
	if err != nil {
		return fmt.Errorf("release claims of %s: %w", owner, err)
	}
	return nil
}

// ClaimDeliveries claims the pending deliveries among ids, and their
// channels, for owner at now without expiry, whoever held them: as a
// worker that is about to send them would have left them. Sent or failed
// deliveries are left alone. For tools and tests that stand in for
// another process; workers use ClaimDue and RecordDeliveries.
func (db *DB) ClaimDeliveries(ctx context.Context, owner string, now time.Time, ids []int64) error {
	err := db.inRowTx(ctx, func(t *tx) error {
		for _, id := range ids {
			if _, err := t.ExecContext(ctx, `UPDATE channel_claims SET owner = $1, until = $2
				WHERE channel = (SELECT channel FROM deliveries WHERE id = $3)`, owner, never, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("claim channels: %w", err)
	}
	_, err = db.RecordDeliveries(ctx, bot.DeliveryBatch{Owner: owner, At: now, Claims: ids})
	return err
}

const sqlMarkSent = `UPDATE deliveries
		SET state = $1, message_id = $2, sent_at = $3, attempts = attempts + 1 WHERE id = $4`

// RecordDeliveries writes a batch of the delivery workers' outbox writes
// in one transaction (group commit): the sends the platform confirmed,
// then the claims. A claim keeps its first time, the earliest moment the
// message can have been posted. It returns the claims it refused: of
// deliveries no longer pending, or whose channel batch.Owner no longer
// holds (ClaimDue); those must not be sent. A confirmation of a delivery
// that does not exist fails the batch.
func (db *DB) RecordDeliveries(ctx context.Context, batch bot.DeliveryBatch) ([]int64, error) {
	if len(batch.Claims) == 0 && len(batch.Sent) == 0 {
		return nil, nil
	}
	// Prepared once: the transaction runs each many times.
	if err := db.write.prepareAll(ctx, recordSQL[db.dialect.name == sqliteDialect.name]); err != nil {
		return nil, fmt.Errorf("record deliveries: %w", err)
	}
	// In id order, as every writer of several deliveries locks them, so
	// that two replicas' batches cannot wait for each other in a circle.
	sent := slices.SortedFunc(slices.Values(batch.Sent), func(a, b bot.SentDelivery) int { return cmp.Compare(a.ID, b.ID) })
	// A delivery named twice is marked once: a statement's rows change
	// each delivery once, and markSent counts on that.
	sent = slices.CompactFunc(sent, func(a, b bot.SentDelivery) bool { return a.ID == b.ID })
	claims := slices.Compact(slices.Sorted(slices.Values(batch.Claims)))
	var refused []int64
	err := db.inRowTx(ctx, func(t *tx) error {
		refused = refused[:0]
		if err := markSent(ctx, t, sent); err != nil {
			return err
		}
		claimed := make(map[int64]bool, len(claims))
		err := padded(len(claims), inBuckets, func(i int) any { return claims[i] }, func(ids []any) error {
			rows, err := t.QueryContext(ctx, claimsSQL[len(ids)], append([]any{batch.Owner, ms(batch.At)}, ids...)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					return err
				}
				claimed[id] = true
			}
			return rows.Err()
		})
		if err != nil {
			return fmt.Errorf("claim %d deliveries (%d, …): %w", len(claims), claims[0], err)
		}
		for _, id := range batch.Claims {
			if !claimed[id] {
				refused = append(refused, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record %d sent, %d claimed: %w", len(batch.Sent), len(batch.Claims), err)
	}
	return refused, nil
}

// sentBatches are the row counts of markSent's statements, the largest
// first.
var sentBatches = []int{64, 16, 4, 1}

// markSentSQL marks deliveries sent, by placeholder style (tx.anonParams)
// and row count (sentBatches but one; a single row goes by sqlMarkSent):
// rows of (id, message id, time sent) from $1 on. One statement for many
// rows: a burst records its sends in batches of tens.
var markSentSQL = map[bool]map[int]string{false: markSentTexts(false), true: markSentTexts(true)}

// claimsSQL claims the pending deliveries of n ids from $3 on for owner
// $1 at $2, by list size (inBuckets), where $1 still holds their channel
// (a worker whose channel claim expired — paused, cut off from the
// database — and passed to another must not send), and returns the ids
// it claimed. One statement for them all, not one per delivery (a round
// trip each on PostgreSQL).
var claimsSQL = bySize(func(n int) string {
	return `UPDATE deliveries SET claim_owner = $1,
		claimed_at = CASE WHEN claimed_at = 0 THEN $2 ELSE claimed_at END
		WHERE id IN (` + params(3, n, false) + `) AND state = 'pending'
		AND EXISTS (SELECT 1 FROM channel_claims c WHERE c.channel = deliveries.channel AND c.owner = $1 AND c.until > $2)
		RETURNING id`
})

// recordSQL is every statement RecordDeliveries runs, by placeholder
// style, to prepare before its transaction.
var recordSQL = map[bool][]string{
	false: slices.Concat([]string{sqlMarkSent}, slices.Collect(maps.Values(markSentSQL[false])), slices.Collect(maps.Values(claimsSQL))),
	true:  slices.Concat([]string{sqlMarkSent}, slices.Collect(maps.Values(markSentSQL[true])), slices.Collect(maps.Values(claimsSQL))),
}

func markSentTexts(anon bool) map[int]string {
	m := map[int]string{}
	for _, n := range sentBatches[:len(sentBatches)-1] { // one row: sqlMarkSent
		var b strings.Builder
		b.WriteString(`UPDATE deliveries SET state = '` + bot.DeliverySent + `', message_id = v.column2, sent_at = v.column3,
	attempts = attempts + 1 FROM (VALUES `)
		for r := range n {
			if r > 0 {
				b.WriteString(", ")
			}
			p := strings.Split(params(3*r+1, 3, anon), ", ")
			// Typed, for PostgreSQL, which takes an untyped parameter
			// in VALUES for text.
			b.WriteString("(CAST(" + p[0] + " AS BIGINT), " + p[1] + ", CAST(" + p[2] + " AS BIGINT))")
		}
		b.WriteString(") AS v WHERE deliveries.id = v.column1")
		m[n] = b.String()
	}
	return m
}

// markSent marks sent (in id order) sent, several to a statement. A
// delivery that does not exist fails it with bot.ErrNotFound.
func markSent(ctx context.Context, t *tx, sent []bot.SentDelivery) error {
	args := make([]any, 0, max(4, 3*min(len(sent), sentBatches[0])))
	for len(sent) > 0 {
		n := fitting(len(sent), sentBatches)
		q := sqlMarkSent
		if n == 1 {
			// A plain update by id costs less than a join with one row.
			args = append(args[:0], bot.DeliverySent, sent[0].MessageID, ms(sent[0].At), sent[0].ID)
		} else {
			q, args = markSentSQL[t.anonParams][n], args[:0]
			for _, s := range sent[:n] {
				args = append(args, s.ID, s.MessageID, ms(s.At))
			}
		}
		res, err := t.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("mark %d deliveries sent (%d, …): %w", n, sent[0].ID, err)
		}
		changed, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("mark %d deliveries sent (%d, …): %w", n, sent[0].ID, err)
		}
		if changed < int64(n) {
			return missingDelivery(ctx, t, sent[:n])
		}
		sent = sent[n:]
	}
	return nil
}

// missingDelivery names the first of sent that does not exist.
func missingDelivery(ctx context.Context, t *tx, sent []bot.SentDelivery) error {
	for _, s := range sent {
		var one int
		err := t.QueryRowContext(ctx, `SELECT 1 FROM deliveries WHERE id = $1`, s.ID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("delivery %d: %w", s.ID, bot.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("delivery %d: %w", s.ID, err)
		}
	}
	return fmt.Errorf("mark %d deliveries sent (%d, …): fewer rows changed", len(sent), sent[0].ID)
}

// NextDelivery returns when c.Platform's next pending delivery is due for
// c.Owner: the earliest next try among the first pending delivery of
// each channel (the others wait behind those), or, for a channel another
// owner holds, the end of its claim, when ClaimDue could take it; ok is
// false when none is pending.
func (db *DB) NextDelivery(ctx context.Context, c bot.DueClaim) (time.Time, bool, error) {
	var next sql.NullInt64
	if err := db.read.QueryRowContext(ctx, `SELECT MIN(CASE WHEN $2 = 0 AND c.owner <> $3 AND c.until > d.next_try
			THEN c.until ELSE d.next_try END)
		FROM deliveries d JOIN channel_claims c ON c.channel = d.channel
		WHERE d.id IN (SELECT MIN(id) FROM deliveries WHERE platform = $1 AND state = 'pending' GROUP BY channel)`,
		c.Platform, flag(c.TTL == 0), c.Owner).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("next delivery for %s: %w", c.Platform, err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	if next.Int64 == 0 {
		// A zero next try means "at once": report the epoch rather than
		// the zero time, which callers would take for "none".
		return time.UnixMilli(0).UTC(), true, nil
	}
	return fromMS(next.Int64), true, nil
}

// updateDelivery runs one UPDATE of a delivery and reports a missing row.
func (db *DB) updateDelivery(ctx context.Context, id int64, what, q string, args ...any) error {
	res, err := db.write.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("delivery %d: %s: %w", id, what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delivery %d: %s: %w", id, what, err)
	} else if n == 0 {
		return fmt.Errorf("delivery %d: %w", id, bot.ErrNotFound)
	}
	return nil
}

// MarkSent records a delivery as sent with the platform's message id. The
// successful attempt is counted in Attempts.
func (db *DB) MarkSent(ctx context.Context, id int64, messageID string, at time.Time) error {
	return db.updateDelivery(ctx, id, "mark sent", sqlMarkSent, bot.DeliverySent, messageID, ms(at), id)
}

// MarkRetry keeps a delivery pending until next, after attempts tries.
func (db *DB) MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, errText string) error {
	return db.updateDelivery(ctx, id, "mark retry", `UPDATE deliveries
		SET state = $1, attempts = $2, next_try = $3, last_error = $4 WHERE id = $5`,
		bot.DeliveryPending, attempts, ms(next), errText, id)
}

// MarkFailed gives up on a delivery.
func (db *DB) MarkFailed(ctx context.Context, id int64, attempts int, errText string) error {
	return db.updateDelivery(ctx, id, "mark failed", `UPDATE deliveries
		SET state = $1, attempts = $2, last_error = $3 WHERE id = $4`,
		bot.DeliveryFailed, attempts, errText, id)
}

// ChannelHistory returns the last n (≤ 0: all) deliveries to a channel,
// newest first, with their alerts.
func (db *DB) ChannelHistory(ctx context.Context, channel string, n int) ([]bot.HistoryItem, error) {
	q := "SELECT " + deliveryCols + ", " + alertCols + ` FROM deliveries d JOIN alerts a ON a.id = d.alert_id
		WHERE d.channel = $1 ORDER BY d.id DESC`
	args := []any{channel}
	if n > 0 {
		q += limitClause(n)
	}
	ds, err := db.queryDeliveries(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", channel, err)
	}
	ds = trim(ds, n)
	out := make([]bot.HistoryItem, len(ds))
	for i, d := range ds {
		out[i] = bot.HistoryItem{Alert: d.Alert, Delivery: d}
	}
	return out, nil
}

// DeliveryCounts returns the number of deliveries in each state.
func (db *DB) DeliveryCounts(ctx context.Context) (map[string]int, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT state, COUNT(*) FROM deliveries GROUP BY state")
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			state string
			n     int
		)
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("count deliveries: %w", err)
		}
		out[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	return out, nil
}
