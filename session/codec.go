package session

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
)

// The codec turns the messages of protocol.go into frames and back. A frame
// is one msgpack map with string keys; "t" names the message type. Encode,
// DecodeClient and DecodeServer are safe for concurrent use.
//
// Decoding never trusts a length that the frame declares. Before anything
// is allocated, a bounded scan walks the whole frame and checks that every
// string, binary, array and map fits in the bytes that remain, that nesting
// stays within the depth limit, that every map key is a string, that no
// extension type appears and that nothing follows the top-level map. Only
// then is the frame decoded, so memory use is a small multiple of the
// frame's size and the stack depth is fixed.

// ProtocolError is a refused frame or message: Code is one of the Code
// constants of protocol.go (CodeBadFrame, CodeBadMessage, CodeUnknownType,
// CodeBadDelta) and Msg says what is wrong, for people. Seq is the seq of
// the client op that was refused, when the frame was an op whose seq could
// be read, so that the error sent back can name it; otherwise 0.
type ProtocolError struct {
	Code string
	Msg  string
	Seq  uint64
}

func (e *ProtocolError) Error() string { return e.Code + ": " + e.Msg }

// Limits of the codec. Frame size is limited by the transport, not here.
const (
	// maxDepth is the deepest nesting of maps and arrays in a client's
	// frame, counting the top-level map as 1.
	maxDepth = 32

	// maxServerDepth is the same for a server's frame. A welcome carries
	// ops two levels deeper than a client's op frame does, and ops that
	// arrive through other paths (the REST API) may nest attribute values
	// as deeply as package ot allows (64 levels below an attribute, which
	// sits at level 7 of a welcome).
	maxServerDepth = 80

	// maxSafe is the largest integer that a JavaScript number holds
	// exactly: every integer field is at most this.
	maxSafe = 1<<53 - 1

	maxClientID = 64   // bytes of a client id
	maxName     = 64   // characters (code points) of a name
	maxEpoch    = 128  // bytes of an epoch
	maxToken    = 8192 // bytes of a token
	maxAccess   = 32   // bytes of an access level
	maxCode     = 64   // bytes of an error code
	maxErrorMsg = 1024 // bytes of an error's message; longer ones are cut
	maxOwnMsg   = 256  // bytes of a ProtocolError's message
)

// Encode returns the frame of one message: *Hello, *Submit, *SetPresence or
// *Auth (sent by clients) or *Welcome, *Ack, *Remote, *Presence, *Leave,
// *Authed or *Error (sent by the server). The frame is a new slice that nobody else holds.
// Optional fields at their zero value (and Hello.Rev at -1) are left out.
//
// Encode checks the message as the matching Decode would, deltas included,
// and fails rather than produce a frame that Decode refuses; the error
// wraps a *ProtocolError. Error.Msg is the exception: it is made valid
// UTF-8 and cut to 1024 bytes instead.
func Encode(msg any) ([]byte, error) {
	what, depth, err := checkMessage(msg)
	if what == "" {
		return nil, fmt.Errorf("session: encode %T: not a message", msg)
	}
	if err != nil {
		return nil, fmt.Errorf("session: encode %s: %w", what, err)
	}
	e := frameEncoders.Get().(*frameEncoder)
	defer e.release()
	if err := e.message(msg); err != nil {
		return nil, fmt.Errorf("session: encode %s: %w", what, err)
	}
	frame := make([]byte, e.buf.Len())
	copy(frame, e.buf.Bytes())
	// The checks cover every field; this catches what they cannot see,
	// such as a delta nested deeper than a client's frame may be.
	if err := scanFrame(frame, depth); err != nil {
		return nil, fmt.Errorf("session: encode %s: %w", what, err)
	}
	return frame, nil
}

// checkMessage checks msg for Encode and returns its type and the depth
// limit of its decoder; the type is "" when msg is not a message.
func checkMessage(msg any) (what string, depth int, err error) {
	switch m := msg.(type) {
	case *Hello:
		if m != nil {
			return TypeHello, maxDepth, checkHello(m)
		}
	case *Submit:
		if m != nil {
			return TypeOp, maxDepth, checkSubmit(m)
		}
	case *SetPresence:
		if m != nil {
			return TypePresence, maxDepth, checkSetPresence(m)
		}
	case *Welcome:
		if m != nil {
			return TypeWelcome, maxServerDepth, checkWelcome(m)
		}
	case *Ack:
		if m != nil {
			return TypeAck, maxServerDepth, checkAck(m)
		}
	case *Remote:
		if m != nil {
			return TypeOp, maxServerDepth, checkRemote(m, newChecker(TypeOp))
		}
	case *Presence:
		if m != nil {
			return TypePresence, maxServerDepth, checkPresence(m, newChecker(TypePresence))
		}
	case *Leave:
		if m != nil {
			return TypeLeave, maxServerDepth, checkLeave(m)
		}
	case *Error:
		if m != nil {
			return TypeError, maxServerDepth, checkError(m)
		}
	case *Auth:
		if m != nil {
			c := newChecker(TypeAuth)
			c.str(specAuthToken, m.Token, true)
			return TypeAuth, maxDepth, c.err
		}
	case *Authed:
		if m != nil {
			c := newChecker(TypeAuthed)
			c.int(specExp, m.Exp)
			return TypeAuthed, maxServerDepth, c.err
		}
	}
	return "", 0, nil
}

// DecodeClient decodes a frame sent by a client: it returns a *Hello, a
// *Submit, a *SetPresence or an *Auth. The error is always a *ProtocolError. Keys the
// message does not define are ignored; a "t" that names no message a
// client sends is CodeUnknownType.
func DecodeClient(frame []byte) (any, error) {
	o, err := decodeFrame(frame, maxDepth)
	if err != nil {
		return nil, err
	}
	var msg any
	switch o.what {
	case TypeHello:
		msg = decodeHello(o)
	case TypeOp:
		msg = decodeSubmit(o)
	case TypePresence:
		msg = &SetPresence{Sel: o.sel("sel")}
	case TypeAuth:
		msg = &Auth{Token: o.str(specAuthToken, true)}
	default:
		return nil, &ProtocolError{Code: CodeUnknownType, Msg: clip(fmt.Sprintf("a client does not send %.64q", o.what))}
	}
	if o.err != nil {
		return nil, o.err
	}
	return msg, nil
}

// DecodeServer decodes a frame sent by the server: it returns a *Welcome,
// an *Ack, a *Remote, a *Presence, a *Leave, an *Authed or an *Error. The error is
// always a *ProtocolError. Keys the message does not define are ignored; a
// "t" that names no message the server sends is CodeUnknownType.
func DecodeServer(frame []byte) (any, error) {
	o, err := decodeFrame(frame, maxServerDepth)
	if err != nil {
		return nil, err
	}
	var msg any
	switch o.what {
	case TypeWelcome:
		msg = decodeWelcome(o)
	case TypeAck:
		msg = &Ack{
			Seq: o.uint(specSeq, true),
			Rev: doc.Rev(o.int(specRev, true, 0)),
		}
	case TypeOp:
		msg = decodeRemote(o)
	case TypePresence:
		msg = decodePresence(o)
	case TypeLeave:
		msg = &Leave{Client: o.str(specClient, true)}
	case TypeAuthed:
		msg = &Authed{Exp: o.int(specExp, true, 0)}
	case TypeError:
		m := &Error{Code: o.str(specCode, true)}
		if v, ok := o.get("msg", false); ok {
			if s, ok := v.(string); ok {
				m.Msg = tidyMsg(s)
			} else {
				o.fail(CodeBadMessage, "msg must be a string, not %s", kindOf(v))
			}
		}
		m.Seq = o.uint(specSeqNone, false)
		msg = m
	default:
		return nil, &ProtocolError{Code: CodeUnknownType, Msg: clip(fmt.Sprintf("the server does not send %.64q", o.what))}
	}
	if o.err != nil {
		return nil, o.err
	}
	return msg, nil
}

// decodeFrame scans and decodes frame and reads its type.
func decodeFrame(frame []byte, depth int) (*fields, error) {
	if err := scanFrame(frame, depth); err != nil {
		return nil, err
	}
	r := frameReaders.Get().(*frameReader)
	v, err := r.read(frame)
	r.release()
	if err != nil {
		// The scan admitted the frame, so this is not expected.
		return nil, &ProtocolError{Code: CodeBadFrame, Msg: clip("malformed msgpack: " + err.Error())}
	}
	m := v.(map[string]any) // the scan checked that it is a map
	t, ok := m["t"]
	if !ok || t == nil {
		return nil, &ProtocolError{Code: CodeBadMessage, Msg: `the message has no type ("t")`}
	}
	what, ok := t.(string)
	if !ok {
		return nil, &ProtocolError{Code: CodeBadMessage, Msg: fmt.Sprintf(`the type ("t") must be a string, not %s`, kindOf(t))}
	}
	return &fields{m: m, what: what}, nil
}

// The fields of every message, as decode and checks read them.

// intSpec is an integer field and its range.
type intSpec struct {
	name     string
	min, max int64
}

var (
	specVersion    = intSpec{"v", 0, math.MaxInt32}
	specHelloRev   = intSpec{"rev", -1, maxSafe}
	specBase       = intSpec{"rev", 0, maxSafe}
	specWelcomeRev = intSpec{"rev", 0, maxSafe}
	specRev        = intSpec{"rev", 1, maxSafe}
	specSeq        = intSpec{"seq", 1, maxSafe}
	specSeqNone    = intSpec{"seq", 0, maxSafe} // 0 means none
	specExp        = intSpec{"exp", 0, maxSafe}
	specPending    = intSpec{"pending", 0, maxSafe}
	specIndex      = intSpec{"index", 0, ot.MaxCount}
	specLength     = intSpec{"length", 0, ot.MaxCount}
)

// check returns what is wrong with n, or "".
func (s intSpec) check(n int64) string {
	if n < s.min || n > s.max {
		return fmt.Sprintf("%s %d is out of range %d to %d", s.name, n, s.min, s.max)
	}
	return ""
}

func (s intSpec) checkUint(n uint64) string {
	if n > math.MaxInt64 {
		return fmt.Sprintf("%s %d is out of range %d to %d", s.name, n, s.min, s.max)
	}
	return s.check(int64(n))
}

// strSpec is a string field: valid UTF-8, at most max bytes (or, with
// runes, characters), at least min bytes, and accepted by valid.
type strSpec struct {
	name     string
	min, max int // max 0: no limit
	runes    bool
	valid    func(string) bool
	want     string // what valid wants, for the message
}

var (
	specClient = strSpec{name: "client", min: 1, max: maxClientID, valid: validClientID,
		want: "1 to 64 characters of A-Z a-z 0-9 _ -"}
	specName      = strSpec{name: "name", max: maxName, runes: true}
	specColor     = strSpec{name: "color", valid: validColor, want: `a colour "#rrggbb"`}
	specEpoch     = strSpec{name: "epoch", max: maxEpoch}
	specToken     = strSpec{name: "token", max: maxToken}
	specAuthToken = strSpec{name: "token", min: 1, max: maxToken}
	specAuthor    = strSpec{name: "author"}
	specAccess    = strSpec{name: "access", max: maxAccess}
	specCode      = strSpec{name: "code", min: 1, max: maxCode}
)

func (s strSpec) check(v string) string {
	switch {
	case !utf8.ValidString(v):
		return s.name + " is not valid UTF-8"
	case s.valid != nil && !s.valid(v):
		return s.name + " must be " + s.want
	case len(v) < s.min:
		return s.name + " must not be empty"
	case s.max > 0 && s.runes && utf8.RuneCountInString(v) > s.max:
		return fmt.Sprintf("%s is longer than %d characters", s.name, s.max)
	case s.max > 0 && !s.runes && len(v) > s.max:
		return fmt.Sprintf("%s is longer than %d bytes", s.name, s.max)
	}
	return ""
}

// validClientID reports whether id is 1 to 64 characters of A-Z a-z 0-9 _ -.
func validClientID(id string) bool {
	if len(id) == 0 || len(id) > maxClientID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validColor reports whether c is "" or "#rrggbb" in hexadecimal digits of
// either case.
func validColor(c string) bool {
	if c == "" {
		return true
	}
	if len(c) != 7 || c[0] != '#' {
		return false
	}
	for i := 1; i < 7; i++ {
		x := c[i]
		if !('0' <= x && x <= '9' || 'a' <= x && x <= 'f' || 'A' <= x && x <= 'F') {
			return false
		}
	}
	return true
}

// tidyMsg makes an error's message valid UTF-8 of at most maxErrorMsg
// bytes. It is idempotent.
func tidyMsg(s string) string { return cutUTF8(strings.ToValidUTF8(s, "\uFFFD"), maxErrorMsg) }

// clip bounds the messages of ProtocolErrors, which may quote input.
func clip(s string) string { return cutUTF8(s, maxOwnMsg) }

// cutUTF8 shortens valid UTF-8 s to at most n bytes, at a character boundary.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Decoding: fields reads the fields of one decoded map and keeps the first
// error.

type fields struct {
	m     map[string]any
	what  string // the message type
	list  string // for an element of a list: the list's key
	index int    // and its index
	seq   uint64 // the seq of a client op, once read
	err   *ProtocolError
}

func (o *fields) fail(code, format string, args ...any) {
	if o.err != nil {
		return
	}
	where := o.what
	if o.list != "" {
		where = fmt.Sprintf("%s: %s[%d]", o.what, o.list, o.index)
	}
	o.err = &ProtocolError{Code: code, Msg: clip(where + ": " + fmt.Sprintf(format, args...)), Seq: o.seq}
}

// get returns the value of key; a nil value counts as absent.
func (o *fields) get(key string, required bool) (any, bool) {
	if o.err != nil {
		return nil, false
	}
	v := o.m[key]
	if v == nil {
		if required {
			o.fail(CodeBadMessage, "%s is missing", key)
		}
		return nil, false
	}
	return v, true
}

func (o *fields) int(s intSpec, required bool, absent int64) int64 {
	v, ok := o.get(s.name, required)
	if !ok {
		return absent
	}
	n, why := wholeNumber(v)
	switch {
	case why == "":
		if r := s.check(n); r != "" {
			o.fail(CodeBadMessage, "%s", r)
			return absent
		}
		return n
	case why == "range":
		o.fail(CodeBadMessage, "%s %v is out of range %d to %d", s.name, v, s.min, s.max)
	default:
		o.fail(CodeBadMessage, "%s must be %s", s.name, why)
	}
	return absent
}

// uint reads a field whose spec has a minimum of 0 or more.
func (o *fields) uint(s intSpec, required bool) uint64 {
	return uint64(o.int(s, required, 0))
}

// wholeNumber returns v as an int64 when it is an integral number that
// fits, or why not: "range", or what v must be.
func wholeNumber(v any) (int64, string) {
	switch n := v.(type) {
	case int64:
		return n, ""
	case uint64: // only above math.MaxInt64
		return 0, "range"
	case float64:
		if math.IsNaN(n) || n != math.Trunc(n) {
			return 0, fmt.Sprintf("a whole number, not %v", n)
		}
		if n < -(1<<63) || n >= 1<<63 {
			return 0, "range"
		}
		return int64(n), ""
	}
	return 0, "a number, not " + kindOf(v)
}

// kindOf names the kind of a decoded value, for messages.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []byte:
		return "binary data"
	case []any:
		return "an array"
	case map[string]any:
		return "a map"
	}
	return "a number"
}

func (o *fields) str(s strSpec, required bool) string {
	v, ok := o.get(s.name, required)
	if !ok {
		return ""
	}
	x, ok := v.(string)
	if !ok {
		o.fail(CodeBadMessage, "%s must be a string, not %s", s.name, kindOf(v))
		return ""
	}
	if x == "" && !required {
		return ""
	}
	if r := s.check(x); r != "" {
		o.fail(CodeBadMessage, "%s", r)
		return ""
	}
	return x
}

func (o *fields) bool(key string) bool {
	v, ok := o.get(key, false)
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		o.fail(CodeBadMessage, "%s must be a boolean, not %s", key, kindOf(v))
	}
	return b
}

func (o *fields) delta(key string, required bool) (ot.Delta, bool) {
	v, ok := o.get(key, required)
	if !ok {
		return ot.Delta{}, false
	}
	d, err := ot.FromValue(v)
	if err != nil {
		var oe *ot.OpError
		if errors.As(err, &oe) {
			o.fail(CodeBadDelta, "%s: op %d: %s", key, oe.Index, oe.Reason)
		} else {
			o.fail(CodeBadDelta, "%s: %v", key, err)
		}
		return ot.Delta{}, false
	}
	return d, true
}

// elems returns the maps of the array at key, as fields.
func (o *fields) elems(key string) []fields {
	v, ok := o.get(key, false)
	if !ok {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		o.fail(CodeBadMessage, "%s must be an array, not %s", key, kindOf(v))
		return nil
	}
	if len(list) == 0 {
		return nil
	}
	objs := make([]fields, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			o.fail(CodeBadMessage, "%s[%d] must be a map, not %s", key, i, kindOf(e))
			return nil
		}
		objs[i] = fields{m: m, what: o.what, list: key, index: i}
	}
	return objs
}

func (o *fields) sel(key string) *Selection {
	v, ok := o.get(key, false)
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		o.fail(CodeBadMessage, "%s must be a map or nil, not %s", key, kindOf(v))
		return nil
	}
	s := fields{m: m, what: o.what, list: o.list, index: o.index}
	sel := &Selection{
		Index:  int(s.int(specIndex, true, 0)),
		Length: int(s.int(specLength, true, 0)),
	}
	if s.err != nil {
		o.err = s.err
		return nil
	}
	return sel
}

func decodeHello(o *fields) *Hello {
	return &Hello{
		Version: int(o.int(specVersion, true, 0)),
		Client:  o.str(specClient, true),
		Rev:     doc.Rev(o.int(specHelloRev, false, -1)),
		Epoch:   o.str(specEpoch, false),
		Pending: o.uint(specPending, false),
		Token:   o.str(specToken, false),
		Name:    o.str(specName, false),
		Color:   o.str(specColor, false),
	}
}

func decodeSubmit(o *fields) *Submit {
	s := &Submit{Seq: o.uint(specSeq, true)}
	if o.err == nil {
		o.seq = s.Seq // later errors name the op
	}
	s.Base = doc.Rev(o.int(specBase, true, 0))
	s.Delta, _ = o.delta("delta", true)
	return s
}

func decodeWelcome(o *fields) *Welcome {
	w := &Welcome{
		Epoch: o.str(specEpoch, false),
		Rev:   doc.Rev(o.int(specWelcomeRev, true, 0)),
	}
	if ops := o.elems("ops"); len(ops) > 0 {
		w.Ops = make([]Remote, len(ops))
		for i := range ops {
			w.Ops[i] = *decodeRemote(&ops[i])
			if ops[i].err != nil {
				o.err = ops[i].err
				return nil
			}
		}
	}
	if d, ok := o.delta("snapshot", false); ok {
		if !d.IsDocument() {
			o.fail(CodeBadDelta, "snapshot is not a document: it holds a retain or a delete")
		}
		w.Snapshot = &d
	}
	w.Reset = o.bool("reset")
	w.Seq = o.uint(specSeqNone, false)
	if ps := o.elems("presence"); len(ps) > 0 {
		w.Presence = make([]Presence, len(ps))
		for i := range ps {
			w.Presence[i] = *decodePresence(&ps[i])
			if ps[i].err != nil {
				o.err = ps[i].err
				return nil
			}
		}
	}
	w.Access = o.str(specAccess, false)
	return w
}

func decodeRemote(o *fields) *Remote {
	r := &Remote{Rev: doc.Rev(o.int(specRev, true, 0))}
	r.Delta, _ = o.delta("delta", true)
	r.Client = o.str(specClient, false)
	r.Seq = o.uint(specSeqNone, false)
	r.Author = o.str(specAuthor, false)
	return r
}

func decodePresence(o *fields) *Presence {
	return &Presence{
		Client: o.str(specClient, true),
		Name:   o.str(specName, false),
		Color:  o.str(specColor, false),
		Sel:    o.sel("sel"),
	}
}

// Checks for Encode: the same specs as decoding, on Go values.

type checker struct {
	what  string
	where string // "ops[3]: " for an element of a list
	err   error
}

func newChecker(what string) *checker { return &checker{what: what} }

func (c *checker) fail(code, reason string) {
	if c.err == nil && reason != "" {
		c.err = &ProtocolError{Code: code, Msg: clip(c.what + ": " + c.where + reason)}
	}
}

func (c *checker) int(s intSpec, n int64)   { c.fail(CodeBadMessage, s.check(n)) }
func (c *checker) uint(s intSpec, n uint64) { c.fail(CodeBadMessage, s.checkUint(n)) }

func (c *checker) str(s strSpec, v string, required bool) {
	if v != "" || required {
		c.fail(CodeBadMessage, s.check(v))
	}
}

func (c *checker) delta(key string, d ot.Delta) {
	if c.err != nil {
		return
	}
	if err := d.Validate(); err != nil {
		var oe *ot.OpError
		if errors.As(err, &oe) {
			c.fail(CodeBadDelta, fmt.Sprintf("%s: op %d: %s", key, oe.Index, oe.Reason))
		} else {
			c.fail(CodeBadDelta, fmt.Sprintf("%s: %v", key, err))
		}
	}
}

func (c *checker) sel(s *Selection) {
	if s != nil {
		c.int(specIndex, int64(s.Index))
		c.int(specLength, int64(s.Length))
	}
}

func checkHello(h *Hello) error {
	c := newChecker(TypeHello)
	c.int(specVersion, int64(h.Version))
	c.str(specClient, h.Client, true)
	c.int(specHelloRev, int64(h.Rev))
	c.str(specEpoch, h.Epoch, false)
	c.uint(specPending, h.Pending)
	c.str(specToken, h.Token, false)
	c.str(specName, h.Name, false)
	c.str(specColor, h.Color, false)
	return c.err
}

func checkSubmit(s *Submit) error {
	c := newChecker(TypeOp)
	c.uint(specSeq, s.Seq)
	c.int(specBase, int64(s.Base))
	c.delta("delta", s.Delta)
	return c.err
}

func checkSetPresence(p *SetPresence) error {
	c := newChecker(TypePresence)
	c.sel(p.Sel)
	return c.err
}

func checkWelcome(w *Welcome) error {
	c := newChecker(TypeWelcome)
	c.str(specEpoch, w.Epoch, false)
	c.int(specWelcomeRev, int64(w.Rev))
	for i := range w.Ops {
		if c.err != nil {
			break
		}
		c.where = fmt.Sprintf("ops[%d]: ", i)
		checkRemote(&w.Ops[i], c)
	}
	c.where = ""
	if w.Snapshot != nil {
		c.delta("snapshot", *w.Snapshot)
		if c.err == nil && !w.Snapshot.IsDocument() {
			c.fail(CodeBadDelta, "snapshot is not a document: it holds a retain or a delete")
		}
	}
	c.uint(specSeqNone, w.Seq)
	for i := range w.Presence {
		if c.err != nil {
			break
		}
		c.where = fmt.Sprintf("presence[%d]: ", i)
		checkPresence(&w.Presence[i], c)
	}
	c.where = ""
	c.str(specAccess, w.Access, false)
	return c.err
}

func checkAck(a *Ack) error {
	c := newChecker(TypeAck)
	c.uint(specSeq, a.Seq)
	c.int(specRev, int64(a.Rev))
	return c.err
}

func checkRemote(r *Remote, c *checker) error {
	c.int(specRev, int64(r.Rev))
	c.delta("delta", r.Delta)
	c.str(specClient, r.Client, false)
	c.uint(specSeqNone, r.Seq)
	c.str(specAuthor, r.Author, false)
	return c.err
}

func checkPresence(p *Presence, c *checker) error {
	c.str(specClient, p.Client, true)
	c.str(specName, p.Name, false)
	c.str(specColor, p.Color, false)
	c.sel(p.Sel)
	return c.err
}

func checkLeave(l *Leave) error {
	c := newChecker(TypeLeave)
	c.str(specClient, l.Client, true)
	return c.err
}

func checkError(m *Error) error {
	c := newChecker(TypeError)
	c.str(specCode, m.Code, true)
	c.uint(specSeqNone, m.Seq)
	return c.err
}

// The bounded scan.

// scanFrame checks that frame is exactly one msgpack map, with no trailing
// bytes, whose every length fits in the bytes that remain, nested at most
// depth deep, with string keys and no extension types. It allocates
// nothing unless it fails.
func scanFrame(frame []byte, depth int) error {
	if len(frame) == 0 {
		return &ProtocolError{Code: CodeBadFrame, Msg: "empty frame"}
	}
	if c := frame[0]; !msgpcode.IsFixedMap(c) && c != msgpcode.Map16 && c != msgpcode.Map32 {
		return &ProtocolError{Code: CodeBadFrame, Msg: fmt.Sprintf("not a msgpack map (first byte 0x%02x)", c)}
	}
	s := frameScanner{b: frame, maxDepth: depth}
	end, err := s.value(0, 1)
	if err != nil {
		return err
	}
	if end != len(frame) {
		return &ProtocolError{Code: CodeBadFrame, Msg: fmt.Sprintf("%d bytes after the message", len(frame)-end)}
	}
	return nil
}

type frameScanner struct {
	b        []byte
	maxDepth int
}

func (s *frameScanner) fail(p int, format string, args ...any) error {
	return &ProtocolError{Code: CodeBadFrame, Msg: fmt.Sprintf("at byte %d: ", p) + fmt.Sprintf(format, args...)}
}

// length reads the size-byte big-endian length at p.
func (s *frameScanner) length(p, size int) (uint64, int, error) {
	if len(s.b)-p < size {
		return 0, 0, s.fail(p, "truncated")
	}
	var n uint64
	for _, c := range s.b[p : p+size] {
		n = n<<8 | uint64(c)
	}
	return n, p + size, nil
}

// value checks the value that starts at p, inside depth-1 containers, and
// returns where it ends.
func (s *frameScanner) value(p, depth int) (int, error) {
	if p >= len(s.b) {
		return 0, s.fail(p, "truncated")
	}
	c := s.b[p]
	start := p
	p++
	switch {
	case msgpcode.IsFixedNum(c):
		return p, nil
	case msgpcode.IsFixedMap(c):
		return s.container(start, p, uint64(c&msgpcode.FixedMapMask), true, depth)
	case msgpcode.IsFixedArray(c):
		return s.container(start, p, uint64(c&msgpcode.FixedArrayMask), false, depth)
	case msgpcode.IsFixedString(c):
		return s.payload(start, p, uint64(c&msgpcode.FixedStrMask))
	}
	var (
		size  int // bytes of the length that follows c
		isMap bool
	)
	switch c {
	case msgpcode.Nil, msgpcode.False, msgpcode.True:
		return p, nil
	case msgpcode.Uint8, msgpcode.Int8:
		return s.payload(start, p, 1)
	case msgpcode.Uint16, msgpcode.Int16:
		return s.payload(start, p, 2)
	case msgpcode.Uint32, msgpcode.Int32, msgpcode.Float:
		return s.payload(start, p, 4)
	case msgpcode.Uint64, msgpcode.Int64, msgpcode.Double:
		return s.payload(start, p, 8)
	case msgpcode.Str8, msgpcode.Bin8:
		size = 1
	case msgpcode.Str16, msgpcode.Bin16:
		size = 2
	case msgpcode.Str32, msgpcode.Bin32:
		size = 4
	case msgpcode.Array16, msgpcode.Map16:
		size, isMap = 2, c == msgpcode.Map16
	case msgpcode.Array32, msgpcode.Map32:
		size, isMap = 4, c == msgpcode.Map32
	default:
		if msgpcode.IsExt(c) {
			return 0, s.fail(start, "extension types are not allowed")
		}
		return 0, s.fail(start, "invalid byte 0x%02x", c)
	}
	n, p, err := s.length(p, size)
	if err != nil {
		return 0, err
	}
	if c >= msgpcode.Array16 && c <= msgpcode.Map32 {
		return s.container(start, p, n, isMap, depth)
	}
	return s.payload(start, p, n)
}

// payload skips the n bytes at p of the value that starts at start.
func (s *frameScanner) payload(start, p int, n uint64) (int, error) {
	if n > uint64(len(s.b)-p) {
		return 0, s.fail(start, "%d bytes declared, %d left", n, len(s.b)-p)
	}
	return p + int(n), nil
}

// container checks an array of n elements or a map of n pairs whose
// elements start at p.
func (s *frameScanner) container(start, p int, n uint64, isMap bool, depth int) (int, error) {
	if depth > s.maxDepth {
		return 0, s.fail(start, "nested deeper than %d", s.maxDepth)
	}
	elems := n
	if isMap {
		elems = 2 * n
	}
	// Every element takes at least one byte.
	if elems > uint64(len(s.b)-p) {
		return 0, s.fail(start, "%d elements declared, %d bytes left", elems, len(s.b)-p)
	}
	var err error
	for range n {
		if isMap {
			if p < len(s.b) && !msgpcode.IsString(s.b[p]) {
				return 0, s.fail(p, "map key is not a string")
			}
			if p, err = s.value(p, depth+1); err != nil {
				return 0, err
			}
		}
		if p, err = s.value(p, depth+1); err != nil {
			return 0, err
		}
	}
	return p, nil
}

// Decoding a scanned frame with the msgpack decoder.

// frameReader decodes a frame that scanFrame admitted into generic values: nil,
// bool, int64, uint64 (above math.MaxInt64 only), float64, string, []byte,
// []any and map[string]any.
type frameReader struct {
	frame []byte
	br    bytes.Reader
	dec   *msgpack.Decoder
}

var frameReaders = sync.Pool{New: func() any {
	r := new(frameReader)
	r.dec = msgpack.NewDecoder(&r.br) // a bytes.Reader: no buffering
	return r
}}

func (r *frameReader) read(frame []byte) (any, error) {
	r.frame = frame
	r.br.Reset(frame)
	return r.value()
}

func (r *frameReader) release() {
	r.frame = nil
	r.br.Reset(nil)
	frameReaders.Put(r)
}

// raw returns the payload of the string or binary value that comes next,
// as a slice of the frame. Strings are taken from the frame rather than
// with the decoder's string methods, which keep a buffer as large as the
// largest string in a pooled decoder.
func (r *frameReader) raw() ([]byte, error) {
	n, err := r.dec.DecodeBytesLen()
	if err != nil {
		return nil, err
	}
	p := len(r.frame) - r.br.Len()
	if n < 0 || n > len(r.frame)-p {
		return nil, io.ErrUnexpectedEOF
	}
	if _, err := r.br.Seek(int64(n), io.SeekCurrent); err != nil {
		return nil, err
	}
	return r.frame[p : p+n : p+n], nil
}

func (r *frameReader) value() (any, error) {
	c, err := r.dec.PeekCode()
	if err != nil {
		return nil, err
	}
	switch {
	case msgpcode.IsFixedNum(c), c >= msgpcode.Int8 && c <= msgpcode.Int64,
		c >= msgpcode.Uint8 && c <= msgpcode.Uint32:
		return r.dec.DecodeInt64()
	case c == msgpcode.Uint64:
		u, err := r.dec.DecodeUint64()
		if u <= math.MaxInt64 {
			return int64(u), err
		}
		return u, err
	case c == msgpcode.Float || c == msgpcode.Double:
		return r.dec.DecodeFloat64()
	case c == msgpcode.Nil:
		return nil, r.dec.DecodeNil()
	case c == msgpcode.False || c == msgpcode.True:
		return r.dec.DecodeBool()
	case msgpcode.IsString(c):
		b, err := r.raw()
		if v, ok := knownValues[string(b)]; ok {
			return v, err
		}
		return string(b), err
	case msgpcode.IsBin(c):
		b, err := r.raw()
		return bytes.Clone(b), err
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err := r.dec.DecodeArrayLen()
		if err != nil {
			return nil, err
		}
		a := make([]any, n)
		for i := range a {
			if a[i], err = r.value(); err != nil {
				return nil, err
			}
		}
		return a, nil
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		n, err := r.dec.DecodeMapLen()
		if err != nil {
			return nil, err
		}
		// Keys may repeat (the last one wins), so n only hints.
		m := make(map[string]any, min(n, 8))
		for range n {
			b, err := r.raw()
			if err != nil {
				return nil, err
			}
			k, ok := knownKeys[string(b)]
			if !ok {
				k = string(b)
			}
			if m[k], err = r.value(); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	return nil, fmt.Errorf("unexpected byte 0x%02x", c)
}

// knownKeys interns the keys of the protocol and of common deltas, so that
// decoding them allocates nothing.
var knownKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"t", "v", "client", "rev", "epoch", "pending", "token", "name", "color",
		"ops", "snapshot", "reset", "seq", "presence", "access", "delta", "author",
		"sel", "index", "length", "code", "msg",
		"insert", "retain", "delete", "attributes",
		"bold", "italic", "underline", "strike", "link", "header", "list",
		"align", "indent", "code-block", "blockquote", "script", "size", "font",
		"background", "image", "video", "formula",
	} {
		m[k] = k
	}
	return m
}()

// knownValues holds common string values, boxed once, so that decoding
// them allocates nothing.
var knownValues = func() map[string]any {
	m := map[string]any{}
	for _, v := range []string{
		TypeHello, TypeWelcome, TypeOp, TypeAck, TypePresence, TypeLeave, TypeError,
		AccessEdit, AccessView, "\n", " ",
	} {
		m[v] = v
	}
	return m
}()

// Encoding with the msgpack encoder, writing only primitives: maps are
// written key by key, in a fixed order, and attribute maps with sorted
// keys, so equal messages give equal frames.

type frameEncoder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

var frameEncoders = sync.Pool{New: func() any {
	e := new(frameEncoder)
	e.enc = msgpack.NewEncoder(&e.buf) // a bytes.Buffer: no buffering, writes cannot fail
	return e
}}

// release returns e to the pool, unless a large message grew its buffer.
func (e *frameEncoder) release() {
	if e.buf.Cap() > 64<<10 {
		return
	}
	e.buf.Reset()
	frameEncoders.Put(e)
}

// The writes below go to a bytes.Buffer, which does not fail.

func (e *frameEncoder) key(k string)   { _ = e.enc.EncodeString(k) }
func (e *frameEncoder) str(s string)   { _ = e.enc.EncodeString(s) }
func (e *frameEncoder) int(n int64)    { _ = e.enc.EncodeInt(n) }
func (e *frameEncoder) uint(n uint64)  { _ = e.enc.EncodeUint(n) }
func (e *frameEncoder) bool(b bool)    { _ = e.enc.EncodeBool(b) }
func (e *frameEncoder) mapLen(n int)   { _ = e.enc.EncodeMapLen(n) }
func (e *frameEncoder) arrayLen(n int) { _ = e.enc.EncodeArrayLen(n) }
func (e *frameEncoder) typ(t string)   { e.key("t"); e.str(t) }
func (e *frameEncoder) strField(k, v string) {
	if v != "" {
		e.key(k)
		e.str(v)
	}
}
func (e *frameEncoder) uintField(k string, v uint64) {
	if v != 0 {
		e.key(k)
		e.uint(v)
	}
}

func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// message writes a message that checkMessage accepted.
func (e *frameEncoder) message(msg any) error {
	switch m := msg.(type) {
	case *Hello:
		e.hello(m)
	case *Submit:
		return e.submit(m)
	case *SetPresence:
		e.setPresence(m)
	case *Welcome:
		return e.welcome(m)
	case *Ack:
		e.ack(m)
	case *Remote:
		return e.remote(m, true)
	case *Presence:
		e.presence(m, true)
	case *Leave:
		e.leave(m)
	case *Error:
		e.errorMsg(m)
	case *Auth:
		e.mapLen(2)
		e.typ(TypeAuth)
		e.key("token")
		e.str(m.Token)
	case *Authed:
		e.mapLen(2)
		e.typ(TypeAuthed)
		e.key("exp")
		e.int(m.Exp)
	}
	return nil
}

func (e *frameEncoder) hello(h *Hello) {
	e.mapLen(3 + countTrue(h.Rev >= 0, h.Epoch != "", h.Pending != 0, h.Token != "", h.Name != "", h.Color != ""))
	e.typ(TypeHello)
	e.key("v")
	e.int(int64(h.Version))
	e.key("client")
	e.str(h.Client)
	if h.Rev >= 0 {
		e.key("rev")
		e.int(int64(h.Rev))
	}
	e.strField("epoch", h.Epoch)
	e.uintField("pending", h.Pending)
	e.strField("token", h.Token)
	e.strField("name", h.Name)
	e.strField("color", h.Color)
}

func (e *frameEncoder) submit(s *Submit) error {
	e.mapLen(4)
	e.typ(TypeOp)
	e.key("seq")
	e.uint(s.Seq)
	e.key("rev")
	e.int(int64(s.Base))
	e.key("delta")
	return e.delta(s.Delta)
}

func (e *frameEncoder) setPresence(p *SetPresence) {
	e.mapLen(2)
	e.typ(TypePresence)
	e.key("sel")
	e.sel(p.Sel)
}

func (e *frameEncoder) sel(s *Selection) {
	if s == nil {
		_ = e.enc.EncodeNil()
		return
	}
	e.mapLen(2)
	e.key("index")
	e.int(int64(s.Index))
	e.key("length")
	e.int(int64(s.Length))
}

func (e *frameEncoder) welcome(w *Welcome) error {
	e.mapLen(2 + countTrue(w.Epoch != "", len(w.Ops) > 0, w.Snapshot != nil, w.Reset, w.Seq != 0,
		len(w.Presence) > 0, w.Access != ""))
	e.typ(TypeWelcome)
	e.strField("epoch", w.Epoch)
	e.key("rev")
	e.int(int64(w.Rev))
	if len(w.Ops) > 0 {
		e.key("ops")
		e.arrayLen(len(w.Ops))
		for i := range w.Ops {
			if err := e.remote(&w.Ops[i], false); err != nil {
				return fmt.Errorf("ops[%d]: %w", i, err)
			}
		}
	}
	if w.Snapshot != nil {
		e.key("snapshot")
		if err := e.delta(*w.Snapshot); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
	}
	if w.Reset {
		e.key("reset")
		e.bool(true)
	}
	e.uintField("seq", w.Seq)
	if len(w.Presence) > 0 {
		e.key("presence")
		e.arrayLen(len(w.Presence))
		for i := range w.Presence {
			e.presence(&w.Presence[i], false)
		}
	}
	e.strField("access", w.Access)
	return nil
}

func (e *frameEncoder) ack(a *Ack) {
	e.mapLen(3)
	e.typ(TypeAck)
	e.key("seq")
	e.uint(a.Seq)
	e.key("rev")
	e.int(int64(a.Rev))
}

// remote writes a sequenced op; withType is false inside a welcome.
func (e *frameEncoder) remote(r *Remote, withType bool) error {
	e.mapLen(2 + countTrue(withType, r.Client != "", r.Seq != 0, r.Author != ""))
	if withType {
		e.typ(TypeOp)
	}
	e.key("rev")
	e.int(int64(r.Rev))
	e.key("delta")
	if err := e.delta(r.Delta); err != nil {
		return err
	}
	e.strField("client", r.Client)
	e.uintField("seq", r.Seq)
	e.strField("author", r.Author)
	return nil
}

// presence writes someone's presence; withType is false inside a welcome.
func (e *frameEncoder) presence(p *Presence, withType bool) {
	e.mapLen(2 + countTrue(withType, p.Name != "", p.Color != ""))
	if withType {
		e.typ(TypePresence)
	}
	e.key("client")
	e.str(p.Client)
	e.strField("name", p.Name)
	e.strField("color", p.Color)
	e.key("sel")
	e.sel(p.Sel)
}

func (e *frameEncoder) leave(l *Leave) {
	e.mapLen(2)
	e.typ(TypeLeave)
	e.key("client")
	e.str(l.Client)
}

func (e *frameEncoder) errorMsg(m *Error) {
	msg := tidyMsg(m.Msg)
	e.mapLen(2 + countTrue(msg != "", m.Seq != 0))
	e.typ(TypeError)
	e.key("code")
	e.str(m.Code)
	e.strField("msg", msg)
	e.uintField("seq", m.Seq)
}

// delta writes d in the shape of d.Value(): {"ops": [{"insert": ...,
// "attributes": {...}}, {"retain": n}, {"delete": n}]}, without building
// the intermediate maps.
func (e *frameEncoder) delta(d ot.Delta) error {
	e.mapLen(1)
	e.key("ops")
	e.arrayLen(len(d.Ops))
	for i, op := range d.Ops {
		e.mapLen(1 + countTrue(len(op.Attributes) > 0))
		switch {
		case op.Delete != 0:
			e.key("delete")
			e.int(int64(op.Delete))
		case op.Retain != 0:
			e.key("retain")
			e.int(int64(op.Retain))
		case op.Embed != nil:
			e.key("insert")
			e.mapLen(1)
			e.key(op.Embed.Type)
			if err := e.value(op.Embed.Value); err != nil {
				return fmt.Errorf("op %d: %w", i, err)
			}
		default:
			e.key("insert")
			e.str(op.Insert)
		}
		if len(op.Attributes) > 0 {
			e.key("attributes")
			if err := e.object(op.Attributes); err != nil {
				return fmt.Errorf("op %d: %w", i, err)
			}
		}
	}
	return nil
}

// value writes a JSON value as package ot holds it. Validated deltas hold
// nothing else.
func (e *frameEncoder) value(v any) error {
	switch x := v.(type) {
	case nil:
		_ = e.enc.EncodeNil()
	case bool:
		e.bool(x)
	case string:
		e.str(x)
	case float64:
		_ = e.enc.EncodeFloat64(x)
	case float32:
		_ = e.enc.EncodeFloat32(x)
	case int:
		e.int(int64(x))
	case int8:
		e.int(int64(x))
	case int16:
		e.int(int64(x))
	case int32:
		e.int(int64(x))
	case int64:
		e.int(x)
	case uint:
		e.uint(uint64(x))
	case uint8:
		e.uint(uint64(x))
	case uint16:
		e.uint(uint64(x))
	case uint32:
		e.uint(uint64(x))
	case uint64:
		e.uint(x)
	case []any:
		e.arrayLen(len(x))
		for _, y := range x {
			if err := e.value(y); err != nil {
				return err
			}
		}
	case map[string]any:
		return e.object(x)
	case ot.Attributes:
		return e.object(x)
	default:
		return fmt.Errorf("cannot encode a %T", v)
	}
	return nil
}

// object writes a map with its keys in order.
func (e *frameEncoder) object(m map[string]any) error {
	var small [8]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.mapLen(len(keys))
	for _, k := range keys {
		e.key(k)
		if err := e.value(m[k]); err != nil {
			return err
		}
	}
	return nil
}
