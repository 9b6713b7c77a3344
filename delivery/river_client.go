package delivery

import (
	"context"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"whitecross"
	"whitecross/store"
)

// client is what Queue uses of a River client, whatever its transaction type.
type client interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Stopped() <-chan struct{}
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	insertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error
	insertManyTx(ctx context.Context, tx *store.Tx, params []river.InsertManyParams) error
}

// nativeClient is a River client plus how to find its driver's transaction
// in a store.Tx.
type nativeClient[TTx comparable] struct {
	*river.Client[TTx]
	txOf func(*store.Tx) TTx
}

func newClient[TTx comparable](driver riverdriver.Driver[TTx], cfg *river.Config, txOf func(*store.Tx) TTx) (*river.Client[TTx], client, error) {
	c, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, nil, err
	}
	return c, nativeClient[TTx]{Client: c, txOf: txOf}, nil
}

func (c nativeClient[TTx]) insertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	native, err := c.native(tx)
	if err != nil {
		return nil, err
	}
	return c.InsertTx(ctx, native, args, opts)
}

// native is the driver's transaction inside tx; EINTERNAL when tx is not of
// this client's database (a SQLite Tx handed to the PostgreSQL queue).
func (c nativeClient[TTx]) native(tx *store.Tx) (TTx, error) {
	var zero TTx
	native := c.txOf(tx)
	if native == zero {
		return zero, whitecross.Errorf(whitecross.EINTERNAL, "the transaction is not of the job queue's database")
	}
	return native, nil
}

func (c nativeClient[TTx]) insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	_, err := c.Insert(ctx, args, opts)
	return err
}

func (c nativeClient[TTx]) insertManyTx(ctx context.Context, tx *store.Tx, params []river.InsertManyParams) error {
	native, err := c.native(tx)
	if err != nil {
		return err
	}
	// InsertManyFastTx: one multi-row insert (COPY on PostgreSQL), no
	// per-row results to build.
	_, err = c.InsertManyFastTx(ctx, native, params)
	return err
}
