package web

import (
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/websocket"
	"github.com/olahol/melody"

	"github.com/cowrite/cowrite/session"
)

// maxHelloFrame is the largest frame read from a connection whose hello
// was not accepted yet. A hello is a few short fields and a token of at
// most 8 KiB, so a connection that has not said who it is cannot make the
// server read and hold a frame of Config.MaxFrame.
const maxHelloFrame = 64 << 10

// closeWait is how long a closing connection waits for the client's
// answer to the close frame before its socket is dropped.
const closeWait = 2 * time.Second

// wsConn adapts a melody session to session.Conn. melody drops a frame
// silently when a session's buffer is full and only tells its error
// handler; the handler sets full, and Send reports it as session.ErrSlow.
type wsConn struct {
	s      *melody.Session
	full   atomic.Bool
	closed atomic.Bool
	peer   *session.Peer
	once   sync.Once
	grown  bool // the read limit is Config.MaxFrame; touched by the read loop only

	// queued counts the frames handed to melody and written those it
	// wrote; wrote wakes a Close that waits for the queue to drain.
	queued  atomic.Int64
	written atomic.Int64
	wrote   chan struct{}
}

var _ session.Conn = (*wsConn)(nil)

func (c *wsConn) Send(frame []byte) error {
	if c.closed.Load() {
		return session.ErrClosed
	}
	c.queued.Add(1)
	if err := c.s.WriteBinary(frame); err != nil {
		c.queued.Add(-1)
		return session.ErrClosed
	}
	if c.full.Load() {
		return session.ErrSlow
	}
	return nil
}

// Close sends the close frame on the socket itself, not through melody's
// queue, which may be full; and it never blocks its caller. The frames
// queued before it, such as the error that explains the close, go first.
func (c *wsConn) Close(code int, reason string) {
	c.once.Do(func() {
		c.closed.Store(true)
		ws := c.s.WebsocketConnection()
		go func() {
			c.drain(time.Now().Add(time.Second))
			msg := websocket.FormatCloseMessage(code, reason)
			if err := ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err != nil {
				ws.Close()
				return
			}
			// The read loop ends when the client answers, or at this
			// deadline.
			ws.SetReadDeadline(time.Now().Add(closeWait))
		}()
	})
}

// drain waits until melody wrote every frame queued so far, or until the
// deadline. A client too slow to read never drains its queue, and a close
// frame cannot overtake what the socket already holds: it is not waited
// for.
func (c *wsConn) drain(deadline time.Time) {
	if c.full.Load() {
		return
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for c.written.Load() < c.queued.Load() && !c.s.IsClosed() {
		select {
		case <-c.wrote:
		case <-timer.C:
			return
		}
	}
}

const (
	connKey = "conn"
	slotKey = "slot" // the func() that gives back the pending slot, called once hello is accepted
)

func connOf(s *melody.Session) *wsConn {
	v, ok := s.Get(connKey)
	if !ok {
		return nil
	}
	return v.(*wsConn)
}

// newMelody returns the WebSocket endpoint's melody, wired to the manager.
func (srv *Server) newMelody() *melody.Melody {
	m := melody.New()
	m.Config.MaxMessageSize = min(srv.cfg.MaxFrame, maxHelloFrame) // until hello
	m.Config.MessageBufferSize = srv.cfg.SendBuffer
	m.Config.WriteWait = srv.cfg.WriteWait
	m.Config.PongWait = srv.cfg.PongWait
	m.Config.PingPeriod = srv.cfg.PongWait * 9 / 10
	m.Upgrader.CheckOrigin = newOriginChecker(srv.cfg.AllowedOrigins).check
	m.Upgrader.EnableCompression = false
	// An idle connection holds no write buffer, and reads through the
	// buffer net/http already made for the request.
	m.Upgrader.ReadBufferSize = 0
	m.Upgrader.WriteBufferSize = 0
	m.Upgrader.WriteBufferPool = &sync.Pool{}

	m.HandleConnect(func(s *melody.Session) {
		c := &wsConn{s: s, wrote: make(chan struct{}, 1)}
		c.peer = srv.cfg.Manager.Connect(chi.URLParamFromCtx(s.Request.Context(), "id"), c)
		s.Set(connKey, c)
	})
	m.HandleMessageBinary(func(s *melody.Session, frame []byte) {
		if c := connOf(s); c != nil {
			c.peer.Receive(frame)
			// melody reads on this goroutine: the limit applies from the
			// next frame.
			if !c.grown && c.peer.Joined() {
				c.grown = true
				s.WebsocketConnection().SetReadLimit(srv.cfg.MaxFrame)
				if release, ok := s.Get(slotKey); ok {
					release.(func())()
				}
			}
		}
	})
	m.HandleSentMessageBinary(func(s *melody.Session, _ []byte) {
		if c := connOf(s); c != nil {
			c.written.Add(1)
			select {
			case c.wrote <- struct{}{}:
			default:
			}
		}
	})
	m.HandleMessage(func(s *melody.Session, frame []byte) {
		if c := connOf(s); c != nil {
			if !c.closed.Load() {
				srv.cfg.Metrics.Closed(session.CloseProtocol)
			}
			c.Close(session.CloseProtocol, "frames must be binary msgpack")
		}
	})
	m.HandleDisconnect(func(s *melody.Session) {
		if c := connOf(s); c != nil {
			c.closed.Store(true)
			c.peer.Closed()
		}
	})
	// Only flags here: closing or broadcasting inside melody's error
	// handler recurses or deadlocks its hub.
	m.HandleError(func(s *melody.Session, err error) {
		if errors.Is(err, melody.ErrMessageBufferFull) {
			if c := connOf(s); c != nil {
				c.full.Store(true)
			}
		}
	})
	return m
}

func (srv *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if !session.ValidDocID(id) {
		writeError(w, http.StatusBadRequest, session.CodeBadDocID, "invalid document id")
		return
	}
	// melody serves the connection until it ends.
	srv.limitConns(w, r, func(releaseSlot func()) {
		if err := srv.melody.HandleRequestWithKeys(w, r, map[string]any{slotKey: releaseSlot}); err != nil {
			srv.cfg.Logger.Debug().Err(err).Str("doc", id).Msg("websocket upgrade")
		}
	})
}
