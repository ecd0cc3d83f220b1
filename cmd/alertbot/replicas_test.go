package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/discord/discordtest"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
	"github.com/policyteam/alertbot/store"
	"github.com/policyteam/alertbot/store/pgtest"
)

// Replica tests (DESIGN §12): several `serve` processes of the test
// binary on one PostgreSQL database, posting to the fake platforms, while
// they are killed, or their leader is killed or paused.

// waitRole polls /healthz at addr until it answers 200 naming role, for
// at most d, and returns the body.
func waitRole(t *testing.T, p *proc, addr, role string, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	var (
		code int
		body string
	)
	for time.Now().Before(deadline) {
		if code, body = healthz(addr); code == http.StatusOK && strings.Contains(body, "role="+role) {
			return body
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("/healthz answered %d %q for %s, want role=%s\nstderr:\n%s", code, body, d, role, p.stderr())
	return ""
}

// waitForLog waits until the process's log holds want.
func (p *proc) waitForLog(t testing.TB, want string) {
	t.Helper()
	deadline := time.Now().Add(e2eBound)
	for !strings.Contains(p.stderr(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log never showed %q\nstderr:\n%s", want, p.stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metric returns the value of the first sample of name (with the label
// text given, e.g. `{platform="slack",outcome="claimed"}`) on addr's
// /metrics, and false when it has none.
func metric(t *testing.T, addr, name string) (float64, bool) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// replica is one serve process of a replica test and its HTTP address.
type replica struct {
	p    *proc
	addr string
}

// startReplica starts `serve` on db and waits until it listens.
func startReplica(t *testing.T, env []string, cfg, db string) replica {
	t.Helper()
	p := startProc(t, env, "--config", cfg, "--db", db, "--http", "127.0.0.1:0", "--log-level", "debug")
	return replica{p: p, addr: p.httpAddr(t)}
}

// leader returns the index of the one replica whose /healthz says
// leader, waiting up to d for there to be exactly one.
func leader(t *testing.T, rs []replica, skip int, d time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		found, n := -1, 0
		for i, r := range rs {
			if i == skip {
				continue
			}
			if code, body := healthz(r.addr); code == http.StatusOK && strings.Contains(body, "role=leader") {
				found, n = i, n+1
			}
		}
		if n == 1 {
			return found
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d replicas say they lead after %s, want exactly one", n, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killed sends SIGKILL to p and checks that it died of it.
func killed(t *testing.T, p *proc) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := p.wait(t)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("serve ended with %v, want SIGKILL\nstderr:\n%s", err, p.stderr())
	}
}

// stopped sends SIGINT to p and checks that it ended cleanly.
func stopped(t *testing.T, p *proc) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	if err := p.wait(t); err != nil {
		t.Errorf("serve after SIGINT: %v\nstderr:\n%s", err, p.stderr())
	}
}

var titleNumber = regexp.MustCompile(`(\d+)$`)

// checkOrder fails the test unless each channel's posts (titles in the
// order the fake got them) come in the order of their numbers, which is
// the order their deliveries were created in.
func checkOrder(t *testing.T, platform string, byChannel map[string][]string) {
	t.Helper()
	bad := 0
	for ch, titles := range byChannel {
		nums := make([]int, len(titles))
		for i, title := range titles {
			m := titleNumber.FindString(title)
			nums[i], _ = strconv.Atoi(m)
		}
		if !slices.IsSorted(nums) {
			bad++
			if bad <= 3 {
				t.Errorf("%s channel %s got its alerts out of order: %v", platform, ch, titles)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d %s channels got alerts out of order", bad, platform)
	}
}

// TestReplicasKillNine runs three replicas on one PostgreSQL database
// with 1,000 alerts for the fake Slack and 1,000 for the fake Discord
// (250 channels each) pending, and kills a random replica with SIGKILL
// every 100–250 posts, restarting it at once — never all of them: the
// others go on, and a dead replica's channels are taken over once its
// claims expire, sends it may have made looked up before any resend. In
// the end every alert was posted exactly once on each platform, in
// order within each channel, and is recorded as sent; one replica leads.
func TestReplicasKillNine(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	const n, channels = 1000, 250
	slackCh := func(i int) string { return fmt.Sprintf("slack:C0REP%03d", i%channels) }
	discordCh := func(i int) string { return fmt.Sprintf("discord:8%017d", i%channels) }
	want := prefill(t, db, "Slack alert", n, slackCh)
	for title, ch := range prefill(t, db, "Discord alert", n, discordCh) {
		want[title] = ch
	}
	slackFake := slacktest.NewServer()
	slackFake.Token = e2eSlackToken
	defer slackFake.Close()
	discordFake := discordtest.NewServer()
	defer discordFake.Close()
	env := []string{"SLACK_BOT_TOKEN=" + e2eSlackToken, "SLACK_API_URL=" + slackFake.URL,
		"DISCORD_BOT_TOKEN=" + e2eDiscordToken, "DISCORD_APP_ID=" + e2eDiscordApp, "DISCORD_API_URL=" + discordFake.URL}
	cfg := writeTemp(t, faultConfig)

	// posted returns, per platform, each channel's titles in the order the
	// fake got them, and the posts per "channel|title".
	posted := func() (map[string][]string, map[string][]string, map[string]int) {
		slackOrder, discordOrder, count := map[string][]string{}, map[string][]string{}, map[string]int{}
		for _, post := range slackFake.Posts() {
			ch, title := "slack:"+post.Channel, slackPostTitle(post)
			slackOrder[ch] = append(slackOrder[ch], title)
			count[ch+"|"+title]++
		}
		for c := range channels {
			ch := discordCh(c)
			_, id, _ := bot.SplitAddress(ch)
			for _, m := range discordFake.Messages(id) {
				title := m.Content
				if len(m.Embeds) > 0 {
					title = m.Embeds[0].Title
				}
				discordOrder[ch] = append(discordOrder[ch], title)
				count[ch+"|"+title]++
			}
		}
		return slackOrder, discordOrder, count
	}
	distinct := func() int {
		_, _, count := posted()
		d := 0
		for title, ch := range want {
			if count[ch+"|"+title] > 0 {
				d++
			}
		}
		return d
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	rs := make([]replica, 3)
	var all []*proc // every replica started, for their logs
	for i := range rs {
		rs[i] = startReplica(t, env, cfg, db)
		all = append(all, rs[i].p)
	}
	start := time.Now()
	deadline := start.Add(4 * time.Minute) // a hang, not a timing
	kills, leaderKills := 0, 0
	for d := distinct(); d < len(want); d = distinct() {
		target := min(d+100+rng.IntN(151), len(want))
		for distinct() < target {
			if time.Now().After(deadline) {
				t.Fatalf("after %d kills only %d of %d alerts posted", kills, distinct(), len(want))
			}
			for _, r := range rs {
				select {
				case <-r.p.done:
					t.Fatalf("a replica ended by itself\nstderr:\n%s", r.p.stderr())
				default:
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		if target == len(want) {
			break
		}
		victim := rng.IntN(len(rs))
		if code, body := healthz(rs[victim].addr); code == http.StatusOK && strings.Contains(body, "role=leader") {
			leaderKills++
		}
		killed(t, rs[victim].p)
		kills++
		rs[victim] = startReplica(t, env, cfg, db)
		all = append(all, rs[victim].p)
	}
	// The last kills may have left sends unrecorded: they are resolved
	// once the dead replicas' claims expire.
	for pendingDeliveries(t, db) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("deliveries still pending after every alert was posted")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d kills (%d of the leader) while 3 replicas posted %d alerts in %s", kills, leaderKills, len(want), time.Since(start).Round(time.Millisecond))
	found := 0
	for _, p := range all {
		found += strings.Count(p.stderr(), "delivery was posted before; recorded without sending again")
	}
	t.Logf("%d sends of killed replicas found on the platforms by the replicas that took their channels over", found)

	// Exactly one leader, which says so in its metrics too.
	l := leader(t, rs, -1, 15*time.Second+leaderRenew)
	for i, r := range rs {
		v, ok := metric(t, r.addr, "alertbot_leader")
		if !ok || (v == 1) != (i == l) {
			t.Errorf("replica %d: alertbot_leader = %v (%v); replica %d leads", i, v, ok, l)
		}
	}
	for _, r := range rs {
		stopped(t, r.p)
	}
	slackOrder, discordOrder, count := posted()
	checkOnce(t, want, count)
	checkOrder(t, "slack", slackOrder)
	checkOrder(t, "discord", discordOrder)
	checkStoreSent(t, db, want)
}

// failoverConfig has two events, due at a and b, reminded at their
// instant, checked every second and posted to the fake Slack.
func failoverConfig(a, b time.Time) string {
	return `timezone: Asia/Tokyo
admins: [console:local]
lead_times: [0m]
events:
  - id: during-failover
    title: Due during the failover
    due: ` + a.UTC().Format("2006-01-02T15:04:05Z") + `
  - id: after-failover
    title: Due after the failover
    due: ` + b.UTC().Format("2006-01-02T15:04:05Z") + `
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1s"
subscriptions:
  - channel: slack:C0FAIL
    to: [all]
`
}

// TestReplicasLeaderFailover kills the leader of three replicas with
// SIGKILL 6 s before an event is due: another replica becomes leader
// within 15 s, the event due in the gap is posted once (late, caught
// up), and one due after the failover is posted once, on time.
func TestReplicasLeaderFailover(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	fake := slacktest.NewServer()
	fake.Token = e2eSlackToken
	defer fake.Close()
	env := []string{"SLACK_BOT_TOKEN=" + e2eSlackToken, "SLACK_API_URL=" + fake.URL}
	base := time.Now().Truncate(time.Second)
	dueA, dueB := base.Add(30*time.Second), base.Add(45*time.Second)
	cfg := writeTemp(t, failoverConfig(dueA, dueB))
	rs := make([]replica, 3)
	for i := range rs {
		rs[i] = startReplica(t, env, cfg, db)
	}
	old := leader(t, rs, -1, e2eBound)
	killAt := dueA.Add(-6 * time.Second)
	if time.Now().After(killAt) {
		t.Fatalf("the replicas took until %s after the start to elect a leader; the test needs them up within 24 s", time.Since(base))
	}
	time.Sleep(time.Until(killAt))
	killed(t, rs[old].p)
	killedAt := time.Now()
	next := leader(t, rs, old, 20*time.Second)
	failover := time.Since(killedAt)
	t.Logf("replica %d took over %s after the leader was killed", next, failover.Round(time.Millisecond))
	if failover > 15*time.Second {
		t.Errorf("failover took %s, want ≤ 15 s", failover)
	}
	rs[next].p.waitForLog(t, "leader: took the lease")

	ctx, cancel := context.WithTimeout(context.Background(), time.Until(dueB)+e2eBound)
	defer cancel()
	if _, err := fake.WaitPosts(ctx, 2); err != nil {
		t.Fatalf("%v\nnew leader's log:\n%s", err, rs[next].p.stderr())
	}
	// Time for a duplicate to show, if there were one.
	time.Sleep(2 * time.Second)
	got := map[string][]time.Time{}
	for _, p := range fake.Posts() {
		got[slackPostTitle(p)] = append(got[slackPostTitle(p)], p.At)
	}
	for _, title := range []string{"Due during the failover", "Due after the failover"} {
		var at []time.Time
		for k, v := range got {
			if strings.Contains(k, title) {
				at = append(at, v...)
			}
		}
		if len(at) != 1 {
			t.Errorf("%q posted %d times, want once (posts: %v)", title, len(at), got)
		}
	}
	for k, v := range got {
		if strings.Contains(k, "Due after the failover") && len(v) == 1 {
			if late := v[0].Sub(dueB); late > 3*time.Second || late < -time.Second {
				t.Errorf("the event due after the failover was posted %s after its instant, want on time", late)
			}
		}
	}
	for i, r := range rs {
		if i != old {
			stopped(t, r.p)
		}
	}
}

// blockingFeed is a feed whose next request, once armed, is held until
// released and then answered with a stale item; every other request gets
// the plain feed.
type blockingFeed struct {
	mu      sync.Mutex
	hits    int
	armed   bool
	held    chan struct{} // closed when the armed request arrived
	release chan struct{} // closed to answer it
}

func (f *blockingFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hits++
	hold := f.armed
	f.armed = false
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/rss+xml")
	if !hold {
		fmt.Fprint(w, rss("Old item"))
		return
	}
	close(f.held)
	<-f.release
	fmt.Fprint(w, rss("Old item", "Stale item"))
}

func (f *blockingFeed) hitCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

func (f *blockingFeed) arm() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed = true
}

// TestReplicasPausedLeader stops the leader with SIGSTOP in the middle of
// a feed check, keeps it stopped past its lease until the other replica
// leads, then lets it go on with SIGCONT: its check finds a new item but
// its commit is refused (the lease has another holder), so no alert for
// it exists and nothing is posted; it goes on as a follower.
func TestReplicasPausedLeader(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	feed := &blockingFeed{held: make(chan struct{}), release: make(chan struct{})}
	src := httptest.NewServer(feed)
	defer src.Close()
	defer func() {
		select {
		case <-feed.release:
		default:
			close(feed.release)
		}
	}()
	fake := slacktest.NewServer()
	fake.Token = e2eSlackToken
	defer fake.Close()
	env := []string{"SLACK_BOT_TOKEN=" + e2eSlackToken, "SLACK_API_URL=" + fake.URL}
	cfg := writeTemp(t, `timezone: Asia/Tokyo
admins: [console:local]
watchers:
  - id: news
    kind: feed
    url: `+src.URL+`/feed.xml
    schedule: "@every 1s"
    fetch: {allow_private: true, timeout: 60s}
subscriptions:
  - channel: slack:C0PAUSE
    to: [all]
`)
	p1 := startReplica(t, env, cfg, db)
	waitRole(t, p1.p, p1.addr, "leader", e2eBound)
	p2 := startReplica(t, env, cfg, db)
	waitRole(t, p2.p, p2.addr, "follower", e2eBound)
	// The first check records the feed; then the next one is held.
	p1.p.waitForLog(t, "first run: 1 item recorded")
	feed.arm()
	select {
	case <-feed.held:
	case <-time.After(e2eBound):
		t.Fatalf("the leader's next check never came\nstderr:\n%s", p1.p.stderr())
	}
	if err := p1.p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stoppedAt := time.Now()
	defer func() { _ = p1.p.cmd.Process.Signal(syscall.SIGCONT) }()
	waitRole(t, p2.p, p2.addr, "leader", 15*time.Second+leaderRenew)
	t.Logf("the follower took over %s after the leader stopped", time.Since(stoppedAt).Round(time.Millisecond))
	// The new leader checks the feed (plain, no new item) meanwhile.
	hits := feed.hitCount()
	for feed.hitCount() < hits+2 {
		time.Sleep(20 * time.Millisecond)
	}
	// The held check gets its answer while the old leader is stopped, and
	// goes on with it when it continues.
	close(feed.release)
	time.Sleep(100 * time.Millisecond)
	if err := p1.p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	p1.p.waitForLog(t, "watcher check not committed: this process lost the leader lease")
	waitRole(t, p1.p, p1.addr, "follower", e2eBound)
	if !strings.Contains(p1.p.stderr(), "leader: lost the lease; following") {
		t.Errorf("the old leader's log does not say it lost the lease:\n%s", p1.p.stderr())
	}

	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hist, err := s.ChannelHistory(context.Background(), "slack:C0PAUSE", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hist {
		if strings.Contains(h.Alert.Title, "Stale item") {
			t.Errorf("the paused leader's check was committed: alert %q (%s)", h.Alert.Title, h.Alert.Key)
		}
	}
	time.Sleep(time.Second)
	for _, p := range fake.Posts() {
		if strings.Contains(p.Text, "Stale item") {
			t.Errorf("the paused leader's find was posted: %q", p.Text)
		}
	}
	cur, _, err := s.CurrentLease(context.Background(), store.OwnerLease)
	if err != nil || cur.PID != p2.p.cmd.Process.Pid || cur.Epoch != 2 {
		t.Errorf("lease after the pause = %+v, %v; want the second replica's at epoch 2", cur, err)
	}
	// Both go on: the old leader as a follower, answering /healthz.
	for _, r := range []replica{p1, p2} {
		stopped(t, r.p)
	}
}
