package loadgen

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/session"
)

// ringSize is how many send times a client remembers. One op is in flight
// per client, so the op seq-ringSize is long broadcast before seq is sent.
const ringSize = 1024

// A ring holds a client's recent send times, by seq. Its writer is the
// client; its readers are the other clients of the document.
type ring struct {
	seq [ringSize]atomic.Uint64
	at  [ringSize]atomic.Int64 // run clock
}

func (r *ring) put(seq uint64, at int64) {
	i := seq % ringSize
	r.seq[i].Store(seq)
	r.at[i].Store(at)
}

// get returns the send time of op seq, or false when it was overwritten.
func (r *ring) get(seq uint64) (int64, bool) {
	i := seq % ringSize
	at := r.at[i].Load()
	return at, r.seq[i].Load() == seq
}

// A group is one document that clients type into.
type group struct {
	id    string
	index map[string]int // client id to its ring; read-only once typing starts
	rings []*ring
}

// conn is a connection that has been welcomed.
type conn struct {
	ws      *websocket.Conn
	welcome *session.Welcome
}

var dialer = &websocket.Dialer{
	HandshakeTimeout: 30 * time.Second,
	ReadBufferSize:   1024,
	WriteBufferSize:  1024,
	NetDialContext:   (&net.Dialer{KeepAlive: -1}).DialContext,
	WriteBufferPool:  &sync.Pool{},
}

// join opens a connection to document id as client, says hello and waits
// for the welcome.
func join(ctx context.Context, wsURL, id, client string) (*conn, error) {
	ws, _, err := dialer.DialContext(ctx, wsURL+"/v1/docs/"+id+"/ws", nil)
	if err != nil {
		return nil, err
	}
	frame, err := session.Encode(&session.Hello{Version: session.ProtocolVersion, Client: client, Rev: -1, Name: "bench", Color: "#3366cc"})
	if err != nil {
		ws.Close()
		return nil, err
	}
	if d, ok := ctx.Deadline(); ok {
		ws.SetReadDeadline(d)
		ws.SetWriteDeadline(d)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, frame); err != nil {
		ws.Close()
		return nil, err
	}
	for {
		_, frame, err := ws.ReadMessage()
		if err != nil {
			ws.Close()
			return nil, fmt.Errorf("join %s: %w", id, err)
		}
		msg, err := session.DecodeServer(frame)
		if err != nil {
			ws.Close()
			return nil, fmt.Errorf("join %s: %w", id, err)
		}
		switch m := msg.(type) {
		case *session.Welcome:
			ws.SetReadDeadline(time.Time{})
			ws.SetWriteDeadline(time.Time{})
			return &conn{ws: ws, welcome: m}, nil
		case *session.Error:
			ws.Close()
			return nil, fmt.Errorf("join %s: refused: %s: %s", id, m.Code, m.Msg)
		}
	}
}

// A typist is a client that types into its group's document: one op in
// flight, the next after the ack and the pause.
type typist struct {
	r    *run
	g    *group
	ws   *websocket.Conn
	ring *ring
	done chan struct{} // closed when read returns

	// mu guards the fields below, and the socket's writes.
	mu       sync.Mutex
	rng      *rand.Rand
	rev      doc.Rev
	length   int // the document's length at rev, in UTF-16 units
	seq      uint64
	sentAt   int64
	inflight bool
	stopped  bool

	// Owned by read.
	ack, bcast histogram
	acked      int64 // acks inside the window
	refused    int64 // error frames
	err        error // why read ended, when not at the end of the run
}

func newTypist(r *run, g *group, idx int, c *conn, seed uint64) *typist {
	t := &typist{
		r: r, g: g, ws: c.ws, ring: g.rings[idx],
		done: make(chan struct{}),
		rng:  rand.New(rand.NewPCG(seed, uint64(idx))),
		rev:  c.welcome.Rev,
	}
	if c.welcome.Snapshot != nil {
		t.length = c.welcome.Snapshot.Length()
	}
	for _, op := range c.welcome.Ops {
		t.length += op.Delta.ChangeLength()
	}
	return t
}

func clientID(g *group, idx int) string { return fmt.Sprintf("%s-c%d", g.id, idx) }

var letters = []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", " "}

// send sends the next op: one character at a random position of the
// document as the client knows it.
func (t *typist) send() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped || t.inflight {
		return
	}
	pos := t.rng.IntN(t.length + 1)
	var d ot.Delta
	d.Retain(pos, nil).Insert(letters[t.rng.IntN(len(letters))], nil)
	t.seq++
	frame, err := session.Encode(&session.Submit{Seq: t.seq, Base: t.rev, Delta: d})
	if err != nil {
		t.fail()
		return
	}
	t.sentAt = t.r.now()
	t.ring.put(t.seq, t.sentAt)
	t.inflight = true
	t.ws.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if err := t.ws.WriteMessage(websocket.BinaryMessage, frame); err != nil {
		t.fail()
	}
}

// fail closes the socket, which ends read, and read reports the closed
// socket. Called with mu held.
func (t *typist) fail() {
	t.stopped = true
	t.ws.Close()
}

// stop stops typing after the op in flight.
func (t *typist) stop() {
	t.mu.Lock()
	t.stopped = true
	t.mu.Unlock()
}

// idle reports whether no op is in flight.
func (t *typist) idle() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.inflight
}

// read handles the server's frames until the socket closes.
func (t *typist) read() {
	defer close(t.done)
	var h hot
	var buf []byte
	for {
		frame, err := readFrame(t.ws, buf[:0])
		buf = frame
		if err != nil {
			if !t.r.ending.Load() {
				t.err = err
			}
			return
		}
		now := t.r.now()
		if err := readHot(frame, &h); err != nil {
			t.err = err
			t.ws.Close()
			return
		}
		switch h.typ {
		case "ack":
			t.acked1(h.seq, doc.Rev(h.rev), now)
			continue
		case "op":
			t.remote(&h, now)
			continue
		}
		msg, err := session.DecodeServer(frame)
		if err != nil {
			t.err = err
			t.ws.Close()
			return
		}
		if m, ok := msg.(*session.Error); ok {
			t.refused++
			t.mu.Lock()
			mine := m.Seq != 0 && m.Seq == t.seq && t.inflight
			if mine {
				t.inflight = false
			}
			t.mu.Unlock()
			if t.refused == 1 {
				t.err = fmt.Errorf("server error %s: %s", m.Code, m.Msg)
			}
			if mine {
				t.next()
			}
		}
	}
}

func (t *typist) acked1(seq uint64, rev doc.Rev, now int64) {
	t.mu.Lock()
	mine := t.inflight && seq == t.seq
	if mine {
		t.inflight = false
		t.rev = rev
		t.length++
	}
	sentAt := t.sentAt
	t.mu.Unlock()
	if !mine {
		t.err = fmt.Errorf("ack of seq %d, not the op in flight", seq)
		return
	}
	start, end := t.r.window()
	if now >= start && now < end {
		t.acked++
		if sentAt >= start {
			t.ack.add(time.Duration(now - sentAt))
		}
	}
	t.next()
}

// next sends the next op after the pause.
func (t *typist) next() {
	if t.r.cfg.Pause <= 0 {
		t.send()
		return
	}
	// A pause drawn from [p/2, 3p/2): the mean is the configured pause,
	// and clients do not type in lockstep, as people do not.
	p := t.r.cfg.Pause
	t.mu.Lock()
	d := p/2 + time.Duration(t.rng.Int64N(int64(p)))
	t.mu.Unlock()
	time.AfterFunc(d, t.send)
}

// start sends the first op: at once without a pause, else after a random
// part of one, so that the clients' ops spread over the pause.
func (t *typist) start() {
	if t.r.cfg.Pause <= 0 {
		t.send()
		return
	}
	t.mu.Lock()
	d := time.Duration(t.rng.Int64N(int64(t.r.cfg.Pause)))
	t.mu.Unlock()
	time.AfterFunc(d, t.send)
}

func (t *typist) remote(h *hot, now int64) {
	t.mu.Lock()
	t.rev = doc.Rev(h.rev)
	t.length += h.change
	t.mu.Unlock()
	i, ok := t.g.index[string(h.client)]
	if !ok {
		return
	}
	sentAt, ok := t.g.rings[i].get(h.seq)
	if !ok {
		return
	}
	if start, end := t.r.window(); sentAt >= start && now < end {
		t.bcast.add(time.Duration(now - sentAt))
	}
}

// An idler is a connection that joined and does nothing but read.
type idler struct {
	ws   *websocket.Conn
	done chan struct{}
	err  error
}

func (i *idler) read(r *run) {
	defer close(i.done)
	for {
		_, rd, err := i.ws.NextReader()
		if err == nil {
			_, err = io.Copy(io.Discard, rd)
		}
		if err != nil {
			if !r.ending.Load() {
				i.err = err
			}
			return
		}
	}
}

// readFrame reads the next message into buf, grown as needed, and returns
// it. The frame is valid until the next call with the same buffer.
// (ReadMessage allocates a new buffer per message; at tens of thousands of
// frames a second that garbage costs the generator CPU time.)
func readFrame(ws *websocket.Conn, buf []byte) ([]byte, error) {
	_, r, err := ws.NextReader()
	if err != nil {
		return buf, err
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// closeWS closes a socket politely: a close frame, then the socket.
func closeWS(ws *websocket.Conn) {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	ws.Close()
}
