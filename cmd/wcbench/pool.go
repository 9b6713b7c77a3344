package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// pool is the run's worker processes.
type pool struct {
	workers []*workerProc
}

// workerProc is one worker process and the pipe of ops to it.
type workerProc struct {
	cmd *exec.Cmd
	// read is closed when the worker's output ended; only then may
	// cmd.Wait close the pipe.
	read chan struct{}
	mu   sync.Mutex
	in   io.WriteCloser
	enc  *json.Encoder
	buf  *bufio.Writer
}

// startPool starts n workers (this program, verb "worker"), each dialing
// dialers connections at once, and feeds their events to t.
func startPool(n, dialers int, t *tracker, stderr io.Writer) (*pool, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find wcbench's own executable: %w", err)
	}
	p := &pool{}
	for range n {
		cmd := exec.Command(self, "worker", "--dialers", strconv.Itoa(dialers))
		cmd.Stderr = stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			p.stop(0)
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			p.stop(0)
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			p.stop(0)
			return nil, fmt.Errorf("start worker: %w", err)
		}
		buf := bufio.NewWriter(in)
		w := &workerProc{cmd: cmd, in: in, buf: buf, enc: json.NewEncoder(buf), read: make(chan struct{})}
		p.workers = append(p.workers, w)
		go func() {
			defer close(w.read)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				var ev workerEvent
				if json.Unmarshal(sc.Bytes(), &ev) == nil {
					t.apply(ev)
				}
			}
		}()
	}
	return p, nil
}

// send queues an op for worker w (flush sends it).
func (w *workerProc) send(op workerOp) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.enc.Encode(op)
}

func (w *workerProc) flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Flush()
}

// stop tells every worker to close its connections and waits for them to
// exit, killing those still running after grace (0: kill at once).
func (p *pool) stop(grace time.Duration) error {
	for _, w := range p.workers {
		_ = w.send(workerOp{Op: "close"})
		_ = w.flush()
		_ = w.in.Close()
	}
	exited := make(chan error, len(p.workers))
	for _, w := range p.workers {
		go func() {
			<-w.read
			exited <- w.cmd.Wait()
		}()
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	var errs []error
	for range p.workers {
		select {
		case err := <-exited:
			errs = append(errs, err)
		case <-timer.C:
			for _, w := range p.workers {
				_ = w.cmd.Process.Kill()
			}
			errs = append(errs, errors.New("workers did not close their connections in time and were killed"))
			timer.Reset(time.Hour)
		}
	}
	return errors.Join(errs...)
}
