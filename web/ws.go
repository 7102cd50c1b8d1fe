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
}

var _ session.Conn = (*wsConn)(nil)

func (c *wsConn) Send(frame []byte) error {
	if c.closed.Load() {
		return session.ErrClosed
	}
	if err := c.s.WriteBinary(frame); err != nil {
		return session.ErrClosed
	}
	if c.full.Load() {
		return session.ErrSlow
	}
	return nil
}

// Close sends the close frame on the socket itself, not through melody's
// queue, which may be full; and it never blocks its caller.
func (c *wsConn) Close(code int, reason string) {
	c.once.Do(func() {
		c.closed.Store(true)
		ws := c.s.WebsocketConnection()
		go func() {
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

const connKey = "conn"

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
	m.Config.MaxMessageSize = srv.cfg.MaxFrame
	m.Config.MessageBufferSize = srv.cfg.SendBuffer
	m.Config.WriteWait = srv.cfg.WriteWait
	m.Config.PongWait = srv.cfg.PongWait
	m.Config.PingPeriod = srv.cfg.PongWait * 9 / 10
	m.Upgrader.CheckOrigin = newOriginChecker(srv.cfg.AllowedOrigins).check
	m.Upgrader.EnableCompression = false

	m.HandleConnect(func(s *melody.Session) {
		c := &wsConn{s: s}
		c.peer = srv.cfg.Manager.Connect(chi.URLParamFromCtx(s.Request.Context(), "id"), c)
		s.Set(connKey, c)
	})
	m.HandleMessageBinary(func(s *melody.Session, frame []byte) {
		if c := connOf(s); c != nil {
			c.peer.Receive(frame)
		}
	})
	m.HandleMessage(func(s *melody.Session, frame []byte) {
		if c := connOf(s); c != nil {
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
	if err := srv.melody.HandleRequest(w, r); err != nil {
		srv.cfg.Logger.Debug().Err(err).Str("doc", id).Msg("websocket upgrade")
	}
}
