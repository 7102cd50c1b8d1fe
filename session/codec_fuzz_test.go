package session

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
)

// Run with go test -fuzz FuzzDecodeClient ./session/ (or FuzzDecodeServer).
// Inputs that fail are kept in testdata/fuzz and replayed by go test.

func FuzzDecodeClient(f *testing.F) { fuzzDecode(f, false) }

func FuzzDecodeServer(f *testing.F) { fuzzDecode(f, true) }

// fuzzDecode checks that decoding never panics, that every error is a
// *ProtocolError with a decoding code, and that whatever decodes encodes,
// decodes to the same message and encodes to the same frame again.
func fuzzDecode(f *testing.F, server bool) {
	for _, s := range codecSamples() {
		frame, err := Encode(s.msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(frame)
	}
	for _, b := range badFrames(f) {
		if len(b.frame) < 4096 {
			f.Add(b.frame)
		}
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		msg, err := decodeAs(server, frame)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ProtocolError: %v", err, err)
			}
			switch pe.Code {
			case CodeBadFrame, CodeBadMessage, CodeUnknownType, CodeBadDelta:
			default:
				t.Fatalf("unexpected errCode %q: %v", pe.Code, err)
			}
			if msg != nil {
				t.Fatalf("a message came with the error %v", err)
			}
			return
		}
		again, err := Encode(msg)
		if err != nil {
			t.Fatalf("decoded %#v but Encode refused it: %v", msg, err)
		}
		msg2, err := decodeAs(server, again)
		if err != nil {
			t.Fatalf("re-encoded frame does not decode: %v\n% x", err, again)
		}
		if !reflect.DeepEqual(msg, msg2) {
			t.Fatalf("round trip differs:\n%#v\n%#v", msg, msg2)
		}
		third, err := Encode(msg2)
		if err != nil || !bytes.Equal(again, third) {
			t.Fatalf("encoding is not stable (%v):\n% x\n% x", err, again, third)
		}
	})
}

// FuzzEncode builds messages from fuzzed fields and checks that whatever
// Encode accepts decodes to the same message.
func FuzzEncode(f *testing.F) {
	f.Add("héllo 👋", "bold", 1.5, uint64(1), int64(0), "tab-1", "Ann", "#aabbcc", 3, 2)
	f.Add("", "", 0.0, uint64(0), int64(-1), "", "", "", -1, 0)
	f.Add("\xff", "k\x00", math.Copysign(0, -1), uint64(1<<53), int64(1<<53), "a b", "é", "#GGGGGG", 0, -5)
	f.Fuzz(func(t *testing.T, text, key string, num float64, seq uint64, rev int64,
		client, name, color string, index, length int) {
		delta := ot.New(ot.Op{Retain: index, Attributes: ot.Attributes{key: num}}, ot.Op{Insert: text}, ot.Op{Delete: length})
		sel := &Selection{Index: index, Length: length}
		msgs := []struct {
			msg    any
			server bool
		}{
			{&Hello{Version: 1, Client: client, Rev: doc.Rev(rev), Pending: seq, Name: name, Color: color, Epoch: text, Token: key}, false},
			{&Submit{Seq: seq, Base: doc.Rev(rev), Delta: delta}, false},
			{&SetPresence{Sel: sel}, false},
			{&Welcome{Epoch: key, Rev: doc.Rev(rev), Ops: []Remote{{Rev: doc.Rev(rev), Delta: delta, Client: client, Seq: seq, Author: name}},
				Snapshot: &ot.Delta{Ops: []ot.Op{{Insert: text, Attributes: ot.Attributes{key: []any{num, text}}}}},
				Presence: []Presence{{Client: client, Name: name, Color: color, Sel: sel}}, Seq: seq, Access: name}, true},
			{&Ack{Seq: seq, Rev: doc.Rev(rev)}, true},
			{&Remote{Rev: doc.Rev(rev), Delta: delta, Client: client, Seq: seq, Author: name}, true},
			{&Presence{Client: client, Name: name, Color: color, Sel: sel}, true},
			{&Leave{Client: client}, true},
			{&Error{Code: key, Msg: text, Seq: seq}, true},
		}
		for _, m := range msgs {
			frame, err := Encode(m.msg)
			if err != nil {
				var pe *ProtocolError
				if !errors.As(err, &pe) {
					t.Fatalf("Encode %T: %v is not a ProtocolError", m.msg, err)
				}
				continue
			}
			got, err := decodeAs(m.server, frame)
			if err != nil {
				t.Fatalf("Encode accepted %#v but decoding fails: %v", m.msg, err)
			}
			want := m.msg
			if e, ok := want.(*Error); ok {
				want = &Error{Code: e.Code, Msg: tidyMsg(e.Msg), Seq: e.Seq}
			}
			if !sameMessage(want, got) {
				t.Fatalf("round trip:\nwant %#v\ngot  %#v", want, got)
			}
		}
	})
}
