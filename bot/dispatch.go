package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// Delivery tuning.
const (
	sendGrace   = 10 * time.Second // in-flight sends may finish this long after shutdown starts
	sendTimeout = 30 * time.Second // one send
	maxAttempts = 12               // transient failures before a delivery is given up
	backoffBase = time.Second
	backoffMax  = 10 * time.Minute
	batchSize   = 256
	idlePoll    = time.Minute
	// writeRetryMax caps the wait between attempts to record sends while
	// the database refuses writes, so delivery resumes soon after it heals.
	writeRetryMax = 5 * time.Second
	// claimLanes is how many lanes' worth of channels a platform that
	// claims channel by channel (Slack) claims in one write. Two, not one:
	// in a burst the write waits behind the watcher's commits (a few
	// milliseconds each, on SQLite's one writer), and one lanes' worth
	// is sent sooner than that, so the lanes stood idle; a crash then
	// leaves at most three lanes' worth to look up (24 on Slack).
	claimLanes = 2
	// claimChannels bounds the channels one pass claims, so that replicas
	// sharing an outbox each take a share of a burst rather than the
	// first taking every channel.
	claimChannels = 32
	// claimMargin is how much of a channel claim must be left for a send
	// to start: a send that started shortly before the claim expired
	// could land after another process took the channel over and looked
	// for it.
	claimMargin = 2 * time.Second
)

// heldSend is a send the platform confirmed but the outbox could not
// record yet. It is kept in memory and only its record is retried: sending
// it again would post it twice (DESIGN §5 "Exactly once").
type heldSend struct {
	id        int64
	messageID string
	at        time.Time
}

// hold keeps a confirmed, unrecorded send of platform.
func (b *Bot) hold(platform string, h heldSend) {
	b.heldMu.Lock()
	defer b.heldMu.Unlock()
	b.held[platform] = append(b.held[platform], h)
}

// holding reports whether platform has confirmed sends not yet recorded;
// while it has, nothing else is sent on it.
func (b *Bot) holding(platform string) bool {
	b.heldMu.Lock()
	defer b.heldMu.Unlock()
	return len(b.held[platform]) > 0
}

// recordHeld retries the records of platform's held sends, all in one
// batch, and fails while they still cannot be written.
func (b *Bot) recordHeld(ctx context.Context, platform string) error {
	b.heldMu.Lock()
	defer b.heldMu.Unlock()
	held := b.held[platform]
	if len(held) == 0 {
		return nil
	}
	batch := DeliveryBatch{Owner: b.owner, At: b.now()}
	for _, h := range held {
		batch.Sent = append(batch.Sent, SentDelivery{ID: h.id, MessageID: h.messageID, At: h.at})
	}
	if _, err := b.outbox.RecordDeliveries(ctx, batch); err != nil {
		b.health.set("outbox", err)
		return fmt.Errorf("record %d sends confirmed before: %w", len(held), err)
	}
	delete(b.held, platform)
	for _, h := range held {
		delete(b.unknown, h.id)
	}
	b.log.Info("deliveries recorded after a failed write", "platform", platform, "deliveries", len(held))
	b.health.set("outbox", nil)
	return nil
}

// Outbox is the delivery side of the store: the workers claim due
// deliveries from it and record each outcome. Several processes may
// share one (DESIGN §12): a channel's deliveries go to one of them at a
// time, by channel claims that expire unless their owner extends them.
type Outbox interface {
	// ClaimDue picks up to c.Limit of c.Platform's deliveries due at
	// c.Now, in order, from channels that no other owner holds
	// (unclaimed, expired, or c.Owner's), and claims those channels for
	// c.Owner until c.Now + c.TTL, atomically. The records show each
	// delivery's own claim as it was before.
	ClaimDue(ctx context.Context, c DueClaim) ([]DeliveryRecord, error)
	// ExtendClaims extends owner's channel claims that have not expired
	// at now and still have pending deliveries, to until; it returns how
	// many channels owner holds.
	ExtendClaims(ctx context.Context, owner string, now, until time.Time) (int, error)
	// ReleaseClaims ends owner's channel claims (at shutdown).
	ReleaseClaims(ctx context.Context, owner string) error
	// RecordDeliveries writes a batch in one transaction: confirmed sends,
	// and claims — owner is about to send these pending deliveries (a
	// claim keeps its first time). It returns the claims it refused (the
	// delivery is no longer pending, or owner no longer holds its
	// channel): those are not to be sent. A delivery claimed by another
	// owner, or by this one for a send whose outcome it does not know,
	// may have been posted.
	RecordDeliveries(ctx context.Context, batch DeliveryBatch) (refused []int64, err error)
	// NextDelivery returns when ClaimDue(c) could next return a
	// delivery: the earliest next try of a channel's first pending
	// delivery, or the expiry of another owner's claim on the channel.
	NextDelivery(ctx context.Context, c DueClaim) (time.Time, bool, error)
	MarkSent(ctx context.Context, id int64, messageID string, at time.Time) error
	MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, errText string) error
	MarkFailed(ctx context.Context, id int64, attempts int, errText string) error
}

// dueClaim is this process's claim request for platform's deliveries at
// now.
func (b *Bot) dueClaim(platform string, now time.Time) DueClaim {
	c := DueClaim{Platform: platform, Owner: b.owner, Now: now, TTL: b.claimTTL, Limit: batchSize}
	if b.claimTTL > 0 {
		// Only with others to share a burst with: a sole deliverer's
		// passes take as many channels as their deliveries fill.
		c.Channels = claimChannels
	}
	return c
}

// claimTerm is how long the channel claims of one delivery pass hold:
// until they expire unless keepClaims extends them. A worker starts a
// send only while enough of the term is left, so a process that was
// paused or cut off from the database past its claims does not post
// what another process has taken over.
type claimTerm struct {
	mu    sync.Mutex
	until time.Time
}

// valid reports whether a send may start at now.
func (c *claimTerm) valid(now time.Time) bool {
	if c == nil {
		return true // a sole deliverer's claims do not expire
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return now.Add(claimMargin).Before(c.until)
}

// newTerm registers the claims of a pass made at now; nil for a sole
// deliverer.
func (b *Bot) newTerm(now time.Time) *claimTerm {
	if b.claimTTL <= 0 {
		return nil
	}
	c := &claimTerm{until: now.Add(b.claimTTL)}
	b.claimMu.Lock()
	b.terms[c] = true
	b.claimMu.Unlock()
	return c
}

// endTerm forgets a pass's claims.
func (b *Bot) endTerm(c *claimTerm) {
	if c == nil {
		return
	}
	b.claimMu.Lock()
	delete(b.terms, c)
	b.claimMu.Unlock()
}

// keepClaims extends this process's channel claims every fifth of their
// lifetime until ctx ends, so a live process keeps the channels it is
// delivering to however long its sends take, and a dead one's expire.
// The terms of the passes in progress follow what the database did:
// extended from the renewal's start if they had not expired by then.
func (b *Bot) keepClaims(ctx context.Context) {
	t := time.NewTicker(b.claimTTL / 5)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := b.now()
		until := now.Add(b.claimTTL)
		n, err := b.outbox.ExtendClaims(ctx, b.owner, now, until)
		if ctx.Err() != nil {
			return
		}
		b.health.set("claims", err)
		if err != nil {
			b.log.Error("channel claims not extended; sends stop when they expire", "err", err)
			continue
		}
		b.metrics.ChannelsHeld(n)
		b.claimMu.Lock()
		for c := range b.terms {
			c.mu.Lock()
			if c.until.After(now) && until.After(c.until) {
				c.until = until
			}
			c.mu.Unlock()
		}
		b.claimMu.Unlock()
	}
}

// Backoff returns the wait before retry number attempt (1-based):
// exponential from one second, capped at ten minutes, with ±20 % jitter so
// that many failed deliveries do not retry in lockstep; never less than
// the platform's own Retry-After.
func Backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := backoffBase << min(attempt-1, 20)
	if d > backoffMax || d <= 0 {
		d = backoffMax
	}
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return max(d, retryAfter)
}

// deliverLoop sends p's pending deliveries until ctx ends. In-flight sends
// get sendGrace to finish after that.
func (b *Bot) deliverLoop(ctx context.Context, p Platform) {
	name := p.Name()
	log := b.log.With("platform", name)
	failures := 0 // passes in a row that could not write
	for {
		n, err := b.DeliverPending(ctx, p)
		if ctx.Err() != nil {
			return
		}
		wait := idlePoll
		switch {
		case err != nil:
			// The database takes no writes (a full disk, say): wait and
			// try again; nothing is sent meanwhile.
			failures++
			wait = min(Backoff(failures, 0), writeRetryMax)
			log.Error("delivery pass failed", "err", err, "retry_in", wait)
		case n > 0:
			failures = 0
			continue
		default:
			failures = 0
			if b.claimTTL > 0 {
				// Other processes share the outbox: their wake-ups come
				// by notification, and this poll is the fallback.
				wait = min(wait, b.claimTTL)
			}
			now := b.now()
			if next, ok, err := b.outbox.NextDelivery(ctx, b.dueClaim(name, now)); err == nil && ok {
				wait = min(max(next.Sub(now), 10*time.Millisecond), wait)
			}
			if next, ok := b.nextPost(ctx, name); ok {
				wait = min(max(next.Sub(now), 10*time.Millisecond), wait)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-b.wakes[name]:
			t.Stop()
		case <-t.C:
		}
	}
}

// recorder batches one pass's outbox writes into few transactions (group
// commit): claims, which a worker waits for before it sends, and the
// confirmed sends, which it does not wait for. While one batch is being
// written the next one gathers, so the batches grow with the load and a
// lone delivery is not delayed.
type recorder struct {
	b        *Bot
	ctx      context.Context
	platform string

	mu      sync.Mutex
	claims  []int64
	waiting []claimWait // claimers and senders waiting for the gathering batch
	sends   []SentDelivery
	kick    chan struct{}
	closed  bool
	done    chan struct{}
	closing sync.Once
}

// newRecorder starts a recorder for one delivery pass of platform.
func (b *Bot) newRecorder(ctx context.Context, platform string) *recorder {
	r := &recorder{b: b, ctx: ctx, platform: platform, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go r.loop()
	return r
}

// claimWait is a claimer waiting for its claim to be written (done), or
// a sender for its confirmation to be (recorded).
type claimWait struct {
	ids      []int64
	done     chan claimResult
	recorded chan error
}

// claimResult is the outcome of a claim: the ids refused, or an error.
type claimResult struct {
	refused map[int64]bool
	err     error
}

// claim records that this process is about to send ids, and returns once
// the claim is written, with the ids it refused (their channel passed to
// another process), or failed: then nothing may be sent.
func (r *recorder) claim(ids []int64) (map[int64]bool, error) {
	done := make(chan claimResult, 1)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errors.New("delivery pass ended")
	}
	r.claims = append(r.claims, ids...)
	r.waiting = append(r.waiting, claimWait{ids: ids, done: done})
	r.mu.Unlock()
	r.poke()
	res := <-done
	return res.refused, res.err
}

// sent queues a confirmed send for the next batch; done, when not nil,
// receives the batch's outcome.
func (r *recorder) sent(s SentDelivery, done chan error) {
	r.mu.Lock()
	r.sends = append(r.sends, s)
	if done != nil {
		r.waiting = append(r.waiting, claimWait{recorded: done})
	}
	r.mu.Unlock()
	r.poke()
}

// record queues a confirmed send and waits for its batch: it reports
// whether the send is recorded (if not, it is held, never sent again).
func (r *recorder) record(s SentDelivery) bool {
	done := make(chan error, 1)
	r.sent(s, done)
	return <-done == nil
}

func (r *recorder) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// close writes what is queued and stops the recorder; later calls wait for
// the first.
func (r *recorder) close() {
	r.closing.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		r.poke()
	})
	<-r.done
}

// Confirmations nobody waits for gather for up to recordLinger, or until
// recordGather of them are queued, before they are written: a burst's
// records then take a few transactions instead of one per handful of
// sends. A claim, a sender waiting for its record, or the end of the pass
// writes at once.
const (
	recordLinger = 2 * time.Millisecond
	recordGather = 64
)

// linger waits while only confirmations nobody waits for are queued, up to
// recordLinger or recordGather of them.
func (r *recorder) linger() {
	var t *time.Timer
	for {
		r.mu.Lock()
		now := len(r.claims) > 0 || len(r.waiting) > 0 || len(r.sends) >= recordGather || r.closed || len(r.sends) == 0
		r.mu.Unlock()
		if now {
			break
		}
		if t == nil {
			t = time.NewTimer(recordLinger)
		}
		select {
		case <-r.kick: // more was queued: look again
			continue
		case <-t.C:
		}
		break
	}
	if t != nil {
		t.Stop()
	}
}

// loop writes batches until closed and empty.
func (r *recorder) loop() {
	defer close(r.done)
	for {
		<-r.kick
		r.linger()
		for {
			r.mu.Lock()
			claims, waiting, sends, closed := r.claims, r.waiting, r.sends, r.closed
			r.claims, r.waiting, r.sends = nil, nil, nil
			r.mu.Unlock()
			if len(claims) == 0 && len(sends) == 0 {
				if closed {
					return
				}
				break
			}
			r.write(claims, waiting, sends)
		}
	}
}

// write records one batch. When it fails, the confirmations are held (never
// sent again; retried as writes alone) and the claimers told not to send.
func (r *recorder) write(claims []int64, waiting []claimWait, sends []SentDelivery) {
	b := r.b
	// A context that survives shutdown: these sends happened.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 5*time.Second)
	defer cancel()
	refused, err := b.outbox.RecordDeliveries(ctx, DeliveryBatch{Owner: b.owner, At: b.now(), Claims: claims, Sent: sends})
	if err != nil && len(sends) > 0 {
		// Held before it is told, so that no lane sends once it shows.
		for _, s := range sends {
			b.hold(r.platform, heldSend{id: s.ID, messageID: s.MessageID, at: s.At})
		}
		b.log.Error("deliveries sent but not recorded; holding them and pausing sends until the write works",
			"platform", r.platform, "deliveries", len(sends), "err", err)
	}
	b.health.set("outbox", err)
	if err == nil {
		for _, s := range sends {
			b.setUnknown(s.ID, false)
		}
	}
	no := map[int64]bool{}
	for _, id := range refused {
		no[id] = true
	}
	for _, w := range waiting {
		if w.recorded != nil {
			w.recorded <- err
			continue
		}
		res := claimResult{err: err}
		for _, id := range w.ids {
			if no[id] {
				if res.refused == nil {
					res.refused = map[int64]bool{}
				}
				res.refused[id] = true
			}
		}
		w.done <- res
	}
}

// ParallelSender is implemented by platforms that may send to several
// channels at once. A crash then leaves several sends of unknown outcome,
// so a platform should offer it only when it can resolve them (Resolver)
// or its sends are idempotent (Discord's enforce_nonce); each channel's
// deliveries still go one at a time, in order. When a lookup fails for
// good (a missing permission), the platform goes back to one send at a
// time.
type ParallelSender interface {
	ParallelSends() int
}

// ClaimAhead is implemented by platforms whose sends of unknown outcome
// cost little to settle: Discord's enforce_nonce makes a resend within
// minutes return the first message, without a lookup. A delivery pass
// then claims all its deliveries when it picks them up, in the same
// transaction, instead of each channel's just before they are sent: a
// crash leaves the whole pass to settle, which such a platform does by
// resending. Others (Slack, whose lookups are paced at about one a
// second) claim channels claimLanes lanes' worth at a time, just before
// the lanes take them, so a crash leaves only the sends in flight and the
// channels claimed next to look up.
type ClaimAhead interface {
	ClaimAhead() bool
}

// claimsAhead reports whether p's deliveries are claimed when picked up.
func claimsAhead(p Platform) bool {
	ca, ok := p.(ClaimAhead)
	return ok && ca.ClaimAhead()
}

// DeliverPending sends one batch of p's due deliveries and returns how many
// it handled. Each channel's deliveries go in order; after a failure the
// channel's later deliveries wait for its retry.
//
// Sends the platform confirmed but the outbox could not record are
// recorded first; until they are, nothing is sent and an error returned.
// Deliveries whose earlier send has an unknown outcome are resolved with
// the platform before any resend (DESIGN §5 "Exactly once").
func (b *Bot) DeliverPending(ctx context.Context, p Platform) (int, error) {
	name := p.Name()
	if err := b.recordHeld(ctx, name); err != nil {
		return 0, err
	}
	now := b.now()
	b.postDue(ctx, name, now)
	due := b.dueClaim(name, now)
	ahead := claimsAhead(p)
	due.Deliveries = ahead
	ds, err := b.outbox.ClaimDue(ctx, due)
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	if ahead {
		b.metrics.Claims(name, "claimed", len(ds))
	}
	term := b.newTerm(now)
	defer b.endTerm(term)
	parallel := 1
	if ps, ok := p.(ParallelSender); ok && !b.serial(name) {
		parallel = max(1, ps.ParallelSends())
	}
	groups, order := byChannel(ds)
	rec := b.newRecorder(ctx, name)
	defer rec.close()
	var (
		errMu    sync.Mutex
		claimErr error
	)
	fail := func(err error) {
		errMu.Lock()
		claimErr = cmp.Or(claimErr, err)
		errMu.Unlock()
	}
	// parallel lanes (1: one channel after another) take the channels in
	// order. A lane lives for the pass rather than a goroutine per
	// channel: the send path's deep stack then grows once per lane.
	work := make(chan laneJob)
	var wg sync.WaitGroup
	for range min(parallel, len(order)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				if err := b.deliverChannel(ctx, p, rec, term, j.list, j.claimed); err != nil {
					fail(err)
				}
			}
		}()
	}
	// A platform that claims channel by channel and sends to several at
	// once has the next claimLanes lanes' worth of channels claimed in one
	// write while the lanes send, so a lane starts its next channel
	// without waiting for a claim; at most (claimLanes+1) times the lanes'
	// channels are then claimed and unconfirmed.
	group := 1
	if !ahead && parallel > 1 {
		group = claimLanes * parallel
	}
dispatch:
	for lo := 0; lo < len(order) && ctx.Err() == nil && !b.holding(name); lo += group {
		chs := order[lo:min(lo+group, len(order))]
		var jobs []laneJob
		if group > 1 {
			var err error
			if jobs, err = b.claimChannels(rec, name, groups, chs); err != nil {
				fail(err)
				break
			}
		} else {
			jobs = []laneJob{{list: groups[chs[0]], claimed: ahead}}
		}
		for _, j := range jobs {
			if ctx.Err() != nil || b.holding(name) {
				break dispatch
			}
			work <- j
		}
	}
	close(work)
	wg.Wait()
	rec.close() // the pass's last confirmations are written before it ends
	if b.holding(name) {
		return len(ds), errors.New("sends confirmed but not recorded; sending paused until the database takes writes")
	}
	return len(ds), claimErr
}

// laneJob is one channel's deliveries for a lane: claimed already, or to
// settle and claim first.
type laneJob struct {
	list    []DeliveryRecord
	claimed bool
}

// claimChannels claims the deliveries of channels chs (of groups) in one
// write and returns the lanes' jobs for them, in order. A channel whose
// deliveries may have been posted is left to its lane, which looks before
// it claims (settle): claimed here, it would look like this process's own
// unsent delivery on a later pass. A channel whose claim was refused is
// left out.
func (b *Bot) claimChannels(rec *recorder, name string, groups map[string][]DeliveryRecord, chs []string) ([]laneJob, error) {
	var ids []int64
	clean := make([]bool, len(chs))
	for i, ch := range chs {
		clean[i] = !slices.ContainsFunc(groups[ch], b.uncertain)
		if clean[i] {
			for _, d := range groups[ch] {
				ids = append(ids, d.ID)
			}
		}
	}
	var refused map[int64]bool
	if len(ids) > 0 {
		var err error
		if refused, err = rec.claim(ids); err != nil {
			return nil, err
		}
		b.metrics.Claims(name, "claimed", len(ids)-len(refused))
	}
	jobs := make([]laneJob, 0, len(chs))
	for i, ch := range chs {
		list := groups[ch]
		if !clean[i] {
			jobs = append(jobs, laneJob{list: list})
			continue
		}
		n := 0
		for _, d := range list {
			if refused[d.ID] {
				n++
			}
		}
		if n > 0 {
			b.refused(name, ch, n)
			continue
		}
		jobs = append(jobs, laneJob{list: list, claimed: true})
	}
	return jobs, nil
}

// refused notes n deliveries of channel whose claims were refused: the
// channel passed to another process while this one was away (paused, or
// cut off from the database); that one sends them.
func (b *Bot) refused(platform, channel string, n int) {
	b.metrics.Claims(platform, "refused", n)
	b.log.Warn("channel taken over by another process; not sending", "platform", platform, "channel", channel, "deliveries", n)
}

// deliverChannel sends one channel's due deliveries in order: it resolves
// those that may have been posted, claims the rest (unless the pass
// claimed them already: claimed), and sends them until one fails or the
// pass's channel claims run out. It returns an error only when the claim
// could not be written; then nothing is sent, since the claim is what
// tells a later process to look before it resends.
func (b *Bot) deliverChannel(ctx context.Context, p Platform, rec *recorder, term *claimTerm, list []DeliveryRecord, claimed bool) error {
	name := p.Name()
	taken := 0
	for _, d := range list {
		if !d.ClaimedAt.IsZero() && d.ClaimOwner != b.owner {
			taken++
		}
	}
	b.metrics.Claims(name, "taken_over", taken)
	list = b.settle(ctx, p, rec, list)
	if len(list) == 0 || ctx.Err() != nil {
		return nil
	}
	if claimed {
		b.send(ctx, p, rec, term, list)
		return nil
	}
	ids := make([]int64, len(list))
	for i, d := range list {
		ids[i] = d.ID
	}
	refused, err := rec.claim(ids)
	if err != nil {
		return err
	}
	b.metrics.Claims(name, "claimed", len(ids)-len(refused))
	if len(refused) > 0 {
		b.refused(name, list[0].Channel, len(refused))
		return nil
	}
	b.send(ctx, p, rec, term, list)
	return nil
}

// send delivers a channel's claimed deliveries in order until one fails,
// shutdown begins, or the pass's channel claims run out.
func (b *Bot) send(ctx context.Context, p Platform, rec *recorder, term *claimTerm, list []DeliveryRecord) {
	name := p.Name()
	for _, d := range list {
		if ctx.Err() != nil || b.holding(name) {
			return
		}
		if !term.valid(b.now()) {
			b.log.Warn("channel claim ran out before the send; the channel waits for the next pass", "platform", name, "channel", d.Channel, "delivery", d.ID)
			return
		}
		if !b.deliver(ctx, p, rec, d) {
			return
		}
	}
}

// byChannel groups deliveries by channel, keeping their order, and returns
// the channels in order of their first delivery.
func byChannel(ds []DeliveryRecord) (map[string][]DeliveryRecord, []string) {
	groups := map[string][]DeliveryRecord{}
	var order []string
	for _, d := range ds {
		if _, ok := groups[d.Channel]; !ok {
			order = append(order, d.Channel)
		}
		groups[d.Channel] = append(groups[d.Channel], d)
	}
	return groups, order
}

// uncertain reports whether d's message may already have been posted: a
// previous process claimed it (and may have died mid-send), or this one
// sent it without learning the outcome.
func (b *Bot) uncertain(d DeliveryRecord) bool {
	if d.ClaimedAt.IsZero() {
		return false
	}
	if d.ClaimOwner != b.owner {
		return true
	}
	b.heldMu.Lock()
	defer b.heldMu.Unlock()
	return b.unknown[d.ID]
}

// setUnknown records whether this process sent delivery id without
// learning whether it was posted.
func (b *Bot) setUnknown(id int64, unknown bool) {
	b.heldMu.Lock()
	defer b.heldMu.Unlock()
	if unknown {
		b.unknown[id] = true
	} else {
		delete(b.unknown, id)
	}
}

// settle resolves the deliveries of one channel's list that may have been
// posted before they are sent again, and returns what is left to send.
// Those found posted are recorded as sent; when the platform cannot
// answer now, the channel waits for a retry, so order holds; when it can
// never answer (a missing permission, a platform without lookups), they
// are sent again, with a warning, rather than lost.
func (b *Bot) settle(ctx context.Context, p Platform, rec *recorder, list []DeliveryRecord) []DeliveryRecord {
	var doubtful []DeliveryRecord
	for _, d := range list {
		if b.uncertain(d) {
			doubtful = append(doubtful, d)
		}
	}
	if len(doubtful) == 0 {
		return list
	}
	name, ch := p.Name(), list[0].Channel
	log := b.log.With("platform", name, "channel", ch)
	res, ok := p.(Resolver)
	if !ok {
		b.warnOnce("resolve:"+name, "resending deliveries whose earlier send has an unknown outcome; this platform cannot look them up",
			"platform", name, "channel", ch, "deliveries", len(doubtful))
		return list
	}
	q := Unconfirmed{Now: b.now()}
	_, q.Channel, _ = strings.Cut(ch, ":")
	for _, d := range doubtful {
		q.Deliveries = append(q.Deliveries, d.ID)
		if q.Since.IsZero() || d.ClaimedAt.Before(q.Since) {
			q.Since = d.ClaimedAt
		}
	}
	found, err := b.resolve(ctx, res, q)
	if err != nil {
		if retry, after := classify(err); retry {
			log.Warn("cannot tell yet whether deliveries were posted; the channel waits", "deliveries", len(doubtful), "err", err)
			for _, d := range doubtful {
				b.postpone(ctx, name, d, after, fmt.Errorf("look up earlier send: %w", err))
			}
			return nil
		}
		// A missing permission does not go away by itself: say so once,
		// clearly, rather than on every pass; and send one message at a
		// time again, so a crash can repeat at most the one in flight.
		b.setSerial(name)
		b.warnOnce("resolve:"+name+":"+err.Error(), "cannot look up whether deliveries were posted; sending them again, "+
			"which may post a message twice after a crash. Give the app the permission the error names "+
			"(Slack: channels:history, groups:history, im:history for direct messages, and the bot in the channel) to restore exactly-once delivery",
			"platform", name, "channel", ch, "deliveries", len(doubtful), "err", err)
		return list
	}
	out := list[:0:0]
	for _, d := range list {
		msgID, ok := found[d.ID]
		if !ok {
			out = append(out, d)
			continue
		}
		log.Info("delivery was posted before; recorded without sending again", "delivery", d.ID, "message", msgID)
		if !rec.record(SentDelivery{ID: d.ID, MessageID: msgID, At: b.now()}) {
			return nil
		}
	}
	return out
}

// setSerial makes platform send one message at a time from now on: it
// cannot resolve sends of unknown outcome, so each send in flight at a
// crash may be repeated.
func (b *Bot) setSerial(platform string) {
	b.heldMu.Lock()
	defer b.heldMu.Unlock()
	b.serialOnly[platform] = true
}

// serial reports whether setSerial was called for platform.
func (b *Bot) serial(platform string) bool {
	b.heldMu.Lock()
	defer b.heldMu.Unlock()
	return b.serialOnly[platform]
}

// warnOnce logs a warning the first time key is seen in this process.
func (b *Bot) warnOnce(key, msg string, args ...any) {
	b.heldMu.Lock()
	seen := b.warned[key]
	b.warned[key] = true
	b.heldMu.Unlock()
	if !seen {
		b.log.Warn(msg, args...)
	}
}

// resolve asks the platform about q within one send's timeout.
func (b *Bot) resolve(ctx context.Context, r Resolver, q Unconfirmed) (map[int64]string, error) {
	rctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	return r.Resolve(rctx, q)
}

// postpone puts d back for a retry after a failure that may pass.
func (b *Bot) postpone(ctx context.Context, platform string, d DeliveryRecord, after time.Duration, cause error) {
	attempts := d.Attempts + 1
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var err error
	if attempts < maxAttempts {
		b.metrics.DeliveryRetried(platform)
		err = b.outbox.MarkRetry(wctx, d.ID, attempts, b.now().Add(Backoff(attempts, after)), cause.Error())
	} else {
		b.metrics.DeliveryFailed(platform)
		err = b.outbox.MarkFailed(wctx, d.ID, attempts, cause.Error())
	}
	if err != nil {
		b.log.Error("delivery retry not recorded", "platform", platform, "delivery", d.ID, "err", err)
	}
	b.health.set("outbox", err)
}

// deliver sends one delivery and records the outcome. It reports whether
// the channel may go on with its next delivery.
func (b *Bot) deliver(ctx context.Context, p Platform, rec *recorder, d DeliveryRecord) bool {
	// A send that started finishes even when shutdown begins, within
	// sendGrace, so nothing is left half-known.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
	stop := context.AfterFunc(ctx, func() {
		time.AfterFunc(sendGrace, cancel)
	})
	defer stop()
	defer cancel()
	_, chID, _ := strings.Cut(d.Channel, ":")
	out := Outgoing{DeliveryID: d.ID, Channel: chID, Message: MessageFor(d.Alert), Nonce: Nonce(d.ID)}
	if d.Alert.Kind != watchers.KindDeliveryFailed {
		// Every alert can be asked for again (DESIGN §9).
		out.Message.Buttons = append(out.Message.Buttons, AgainButtons(d.ID)...)
	}
	msgID, err := p.Send(sctx, out)
	name := p.Name()
	if err == nil {
		b.metrics.DeliverySent(name)
		sd := SentDelivery{ID: d.ID, MessageID: msgID, At: b.now()}
		if _, ok := p.(Resolver); ok {
			// Recorded with the next batch; the channel goes on meanwhile.
			// A crash before the batch is written leaves the claim, so the
			// send is looked up, not repeated.
			rec.sent(sd, nil)
			return true
		}
		// A platform that cannot look sends up waits for the record, so
		// only a crash in that moment can repeat the message.
		return rec.record(sd)
	}
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer rcancel()
	now := b.now()
	retry, after := classify(err)
	if retry && after == 0 {
		// A send refused with a wait (429) was not posted; any other
		// failure that may pass (a timeout, a 5xx) may have been.
		b.setUnknown(d.ID, true)
	}
	attempts := d.Attempts + 1
	log := b.log.With("platform", name, "delivery", d.ID, "channel", d.Channel, "attempt", attempts)
	if retry && attempts < maxAttempts {
		b.metrics.DeliveryRetried(name)
		wait := Backoff(attempts, after)
		log.Warn("delivery failed, will retry", "err", err, "retry_in", wait)
		werr := b.outbox.MarkRetry(rctx, d.ID, attempts, now.Add(wait), err.Error())
		if werr != nil {
			log.Error("delivery retry not recorded", "err", werr)
		}
		b.health.set("outbox", werr)
		return false
	}
	b.metrics.DeliveryFailed(name)
	b.setUnknown(d.ID, false)
	log.Error("delivery failed permanently", "err", err)
	werr := b.outbox.MarkFailed(rctx, d.ID, attempts, err.Error())
	if werr != nil {
		log.Error("delivery failure not recorded", "err", werr)
	}
	b.health.set("outbox", werr)
	b.reportFailure(rctx, d, err, now)
	return true
}

// Nonce derives a Discord nonce (≤ 25 characters) from a delivery id, so a
// retry of the same delivery is recognised as the same message.
func Nonce(deliveryID int64) string {
	return "ab" + strconv.FormatInt(deliveryID, 36)
}

// reportFailure tells the admins' channels (those subscribed to all, other
// than the failing one) that a channel cannot be reached — once per channel
// and day, so a dead channel does not flood them.
func (b *Bot) reportFailure(ctx context.Context, d DeliveryRecord, sendErr error, now time.Time) {
	rt, err := loadRoutes(ctx, b.pipe.store, now, b.enabled)
	if err != nil {
		b.log.Error("delivery failure not reported", "err", err)
		return
	}
	a := watchers.Alert{
		Key:      fmt.Sprintf("system/delivery_failed/%s@%s", d.Channel, now.UTC().Format("2006-01-02")),
		Kind:     watchers.KindDeliveryFailed,
		Watcher:  "system",
		At:       now,
		Title:    "Alerts cannot be delivered to " + d.Channel,
		Text:     fmt.Sprintf("%q was not delivered and will not be retried: %v. Invite the bot to the channel or remove its subscriptions.", d.Alert.Title, sendErr),
		Severity: watchers.Warning,
	}
	na := NewAlert{Alert: a, Channels: rt.admins(d.Channel)}
	if rules, err := loadRules(ctx, b.pipe.store, b.Config().Location, b.log); err == nil {
		// Urgent, but the admins' quiet hours still hold it (DESIGN §9).
		na.Holds = rules.holds(a.Kind, now, na.Channels)
	}
	created, err := b.pipe.store.CommitRun(ctx, RunRecord{At: now, Alerts: []NewAlert{na}})
	if err != nil {
		b.log.Error("delivery failure not reported", "err", err)
		return
	}
	if len(created) > 0 {
		b.kick()
		if len(na.Holds) > 0 {
			b.wakeRelease()
		}
	}
}
