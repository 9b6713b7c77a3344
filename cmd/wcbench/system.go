package main

import (
	"context"
	"net/http"
	"net/url"
)

// system is the server under test as the measuring phases see it: what a
// worker dials for connection i, how a message is published to the users
// of some connections, and how the server's memory and CPU are read. The
// phases (connect, settle, 1:1, fan-out) are the same for every system, so
// whitecross and Centrifugo are measured by the same code.
type system interface {
	// name is the report's column: "whitecross" or "centrifugo".
	name() string
	// dialOp is what a worker dials for connection i from source src.
	dialOp(i int, src string) workerOp
	// publish sends one message with the nonce to the users of the
	// connections to, as the user of connection from; n picks the server
	// when there are several.
	publish(ctx context.Context, n, from int, nonce string, to []int) error
	// sample reads the servers' memory and CPU, summed.
	sample(ctx context.Context) (serverSample, error)
	// servers is how many server processes share the connections.
	servers() int
}

// whitecrossSystem is one or more whitecross servers: connections
// authenticate with the bench users' access tokens and messages go
// through POST /api/v1/messages.
type whitecrossSystem struct {
	urls         []*url.URL
	users        []*benchUser // connection i is user i
	hc           *http.Client
	metricsToken string
	pids         []int // read RSS and CPU from /proc when set
	// watch: each connection asks for the presence of the next watch
	// users (0: of everyone, the first protocol).
	watch int
}

var _ system = (*whitecrossSystem)(nil)

// maxWatch is realtime.MaxPresenceWatch, the most users a presence.watch
// frame may name.
const maxWatch = 100

func (w *whitecrossSystem) name() string { return "whitecross" }
func (w *whitecrossSystem) servers() int { return len(w.urls) }

// base is the HTTP address of server i mod n.
func (w *whitecrossSystem) base(i int) string { return w.urls[i%len(w.urls)].String() }

func (w *whitecrossSystem) dialOp(i int, src string) workerOp {
	op := workerOp{Op: "dial", Conn: i, URL: wsURL(w.urls[i%len(w.urls)]), Src: src, Token: w.users[i].AccessToken}
	if w.watch > 0 {
		op.URL += "?presence=watch"
		op.Watch = []string{}
		for k := 1; k <= min(w.watch, maxWatch, len(w.users)-1); k++ {
			op.Watch = append(op.Watch, w.users[(i+k)%len(w.users)].ID)
		}
	}
	return op
}

// publish posts a message from the user of connection from to the users
// of connections to, with the nonce in its subject, through server n mod k.
func (w *whitecrossSystem) publish(ctx context.Context, n, from int, nonce string, to []int) error {
	ids := make([]string, len(to))
	for i, c := range to {
		ids[i] = w.users[c].ID
	}
	body := map[string]any{"recipient_ids": ids, "subject": subjectPrefix + nonce,
		"body": "wcbench load test message", "category": "GENERAL", "priority": "LOW"}
	return postJSON(ctx, w.hc, w.base(n), "/api/v1/messages", w.users[from].AccessToken, body, nil)
}

// sample reads every server's /metrics (and /proc when its pid is known)
// and sums them.
func (w *whitecrossSystem) sample(ctx context.Context) (serverSample, error) {
	var sum serverSample
	for i, u := range w.urls {
		pid := 0
		if len(w.pids) > 0 {
			pid = w.pids[i]
		}
		s, err := sampleServer(ctx, w.hc, u.String(), w.metricsToken, pid)
		if err != nil {
			return sum, err
		}
		sum.add(s)
	}
	return sum, nil
}
