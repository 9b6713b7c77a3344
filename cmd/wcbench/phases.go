package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// connect has the workers open every connection, connection i from source
// address i mod --source-addrs to server i mod n, and waits until each is
// up or failed. The rate counts from the first dial to the last hello.
func (b *bench) connect(ctx context.Context, p *pool) error {
	srcs, err := sourceAddrs(b.cfg.srcAddrs)
	if err != nil {
		return err
	}
	b.logf("opening %d connections from %d worker processes over %d source addresses", b.cfg.conns, len(p.workers), len(srcs))
	start := time.Now()
	var feeding sync.WaitGroup
	for wi, w := range p.workers {
		feeding.Go(func() {
			for i := wi; i < b.cfg.conns; i += len(p.workers) {
				if w.send(b.sys.dialOp(i, sourceFor(srcs, i).String())) != nil {
					return
				}
			}
			_ = w.flush()
		})
	}
	feeding.Wait()
	progress := time.NewTicker(5 * time.Second)
	defer progress.Stop()
	for {
		up, failed := b.t.counts()
		if up+failed >= b.cfg.conns {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-progress.C:
			b.logf("%d up, %d failed", up, failed)
		case <-b.t.changed:
		}
	}
	b.t.mu.Lock()
	last := slices.Max(append([]int64{start.UnixNano()}, b.t.upAt...))
	b.rep.Connected, b.rep.ConnectFailed, b.rep.FirstConnectError = len(b.t.up), b.t.failed, b.t.firstErr
	b.t.mu.Unlock()
	b.rep.Connect = rateOf(b.rep.Connected, time.Unix(0, last).Sub(start))
	if b.rep.Connected < 2 {
		return fmt.Errorf("only %d connections came up (first error: %s)", b.rep.Connected, b.rep.FirstConnectError)
	}
	return nil
}

// oneToOne sends 1:1 messages between random connected users at --rate
// for --duration (whitecross: POST /api/v1/messages, each to a server
// chosen round-robin, so with several servers most cross the broker), and
// measures from just before the request until the recipient's socket
// reads the message.
func (b *bench) oneToOne(ctx context.Context) error {
	if b.cfg.duration == 0 {
		return nil
	}
	b.logf("sending 1:1 messages at %.0f/s for %s", b.cfg.rate, b.cfg.duration)
	conns := b.t.upConns()
	const inFlight = 64
	sem := make(chan struct{}, inFlight)
	var mu sync.Mutex
	var lat, accept latencies
	var lost, errs, skipped int
	var firstErr error
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / b.cfg.rate))
	defer tick.Stop()
	stop := time.NewTimer(b.cfg.duration)
	defer stop.Stop()
	n := 0
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-stop.C:
			break loop
		case <-tick.C:
		}
		select {
		case sem <- struct{}{}:
		default:
			skipped++ // the server is behind: do not pile requests up
			continue
		}
		n++
		seq := n
		s, r := pickPair(conns)
		nonce := fmt.Sprintf("1:%d", seq)
		wg.Go(func() {
			defer func() { <-sem }()
			a := b.t.await(nonce, []int{r})
			err := b.sys.publish(ctx, seq, s, nonce, []int{r})
			posted := time.Since(a.sent)
			if err == nil {
				t := time.NewTimer(10 * time.Second)
				select {
				case <-a.done:
				case <-t.C:
				case <-ctx.Done():
				}
				t.Stop()
			}
			got, missing := b.t.forget(nonce, a)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs++
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			accept = append(accept, posted)
			lat = append(lat, got...)
			lost += missing
		})
	}
	wg.Wait()
	b.rep.OneToOne = &oneToOneReport{Sent: n, Latency: lat.summarize(), Accept: accept.summarize(),
		Lost: lost, Errors: errs, Skipped: skipped}
	if firstErr != nil {
		b.rep.OneToOne.FirstError = firstErr.Error()
	}
	return ctx.Err()
}

// pickPair returns two different connections at random.
func pickPair(conns []int) (int, int) {
	i := rand.IntN(len(conns))
	j := rand.IntN(len(conns) - 1)
	if j >= i {
		j++
	}
	return conns[i], conns[j]
}

// fanOuts sends --fanouts messages from user 0 (whitecross: the ADMIN) to --fanout
// connected users each, one after the other, and measures the time until
// each recipient's socket reads it.
func (b *bench) fanOuts(ctx context.Context) error {
	if b.cfg.fanout == 0 || b.cfg.fanouts == 0 {
		return nil
	}
	var recipients []int
	for _, c := range b.t.upConns() {
		if c != 0 {
			recipients = append(recipients, c)
		}
	}
	rand.Shuffle(len(recipients), func(i, j int) { recipients[i], recipients[j] = recipients[j], recipients[i] })
	recipients = recipients[:min(len(recipients), b.cfg.fanout)]
	for k := range b.cfg.fanouts {
		b.logf("fan-out %d of %d: one message to %d connected recipients", k+1, b.cfg.fanouts, len(recipients))
		nonce := fmt.Sprintf("f:%d", k)
		a := b.t.await(nonce, recipients)
		err := b.sys.publish(ctx, k, 0, nonce, recipients)
		fr := &fanOutReport{Recipients: len(recipients), Accept: ms(time.Since(a.sent))}
		b.rep.FanOuts = append(b.rep.FanOuts, fr)
		if err != nil {
			b.t.forget(nonce, a)
			fr.Error = err.Error()
			return err
		}
		t := time.NewTimer(2 * time.Minute)
		select {
		case <-a.done:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		got, missing := b.t.forget(nonce, a)
		fr.Latency, fr.Lost = got.summarize(), missing
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}
