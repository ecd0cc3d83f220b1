package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/policyteam/alertbot/bot"
)

var _ bot.ProposalStore = (*DB)(nil)

const proposalCols = `id, event_id, due, old_due, written, sentence, link, watcher, alert_key, state,
	created_at, decided_at, decided_by`

const (
	sqlInsertProposal = `INSERT INTO proposals (` + proposalCols + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, '')
	ON CONFLICT DO NOTHING`
	sqlDecideProposal = `UPDATE proposals SET state = $1, decided_by = $2, decided_at = $3
	WHERE id = $4 AND state = $5`
	proposalEventsQuery = "SELECT " + eventCols + " FROM events e WHERE e.match_words <> '' ORDER BY e.id"
)

// ProposalEvents returns the events with match words, with their changes:
// those a source's text may propose dates for.
func (db *DB) ProposalEvents(ctx context.Context) ([]bot.EventRecord, error) {
	out, err := db.readEvents(ctx, proposalEventsQuery)
	if err != nil {
		return nil, fmt.Errorf("proposal events: %w", err)
	}
	return out, nil
}

// insertProposals records a run's proposals; one whose id, or event and
// due, exists already is left as it is, decided or not.
func insertProposals(ctx context.Context, t *tx, prs []bot.ProposalRecord) error {
	for _, p := range prs {
		state := p.State
		if state == "" {
			state = bot.ProposalOpen
		}
		if _, err := t.ExecContext(ctx, sqlInsertProposal, p.ID, p.Event, p.Due, p.OldDue, p.Written, p.Sentence, p.Link,
			p.Watcher, p.AlertKey, state, ms(orNow(p.Created, t.now))); err != nil {
			return fmt.Errorf("insert proposal %s: %w", p.ID, err)
		}
	}
	return nil
}

func scanProposal(s scanner) (bot.ProposalRecord, error) {
	var p bot.ProposalRecord
	var created, decided int64
	err := s.Scan(&p.ID, &p.Event, &p.Due, &p.OldDue, &p.Written, &p.Sentence, &p.Link, &p.Watcher, &p.AlertKey, &p.State,
		&created, &decided, &p.DecidedBy)
	p.Created, p.DecidedAt = fromMS(created), fromMS(decided)
	return p, err
}

// Proposal returns proposal id, or ErrNotFound.
func (db *DB) Proposal(ctx context.Context, id string) (bot.ProposalRecord, error) {
	p, err := scanProposal(db.read.QueryRowContext(ctx, "SELECT "+proposalCols+" FROM proposals WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("proposal %q: %w", id, bot.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("proposal %q: %w", id, err)
	}
	return p, nil
}

// Proposals lists the proposals in state ("" for any), newest first, at
// most n (n ≤ 0: all).
func (db *DB) Proposals(ctx context.Context, state string, n int) ([]bot.ProposalRecord, error) {
	q := "SELECT " + proposalCols + " FROM proposals"
	var args []any
	if state != "" {
		q += " WHERE state = $1"
		args = append(args, state)
	}
	q += " ORDER BY created_at DESC, id"
	if n > 0 {
		q += limitClause(n)
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("proposals: %w", err)
	}
	defer rows.Close()
	var out []bot.ProposalRecord
	for rows.Next() {
		p, err := scanProposal(rows)
		if err != nil {
			return nil, fmt.Errorf("proposals: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("proposals: %w", err)
	}
	return trim(out, n), nil
}

// DecideProposal moves proposal id from state from to state to; false
// when it was not in from, which leaves it alone. Only one of two
// deciders racing wins.
func (db *DB) DecideProposal(ctx context.Context, id, from, to, by string, at time.Time) (bool, error) {
	var n int64
	err := db.inTx(ctx, func(t *tx) error {
		res, err := t.ExecContext(ctx, sqlDecideProposal, to, by, ms(at), id, from)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("decide proposal %q: %w", id, err)
	}
	return n > 0, nil
}
