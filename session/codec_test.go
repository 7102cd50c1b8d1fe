package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/cowrite/cowrite/ot"
)

// richDelta holds text with attributes, a null attribute, embeds with
// string and object values, emoji and a CJK character.
func richDelta() ot.Delta {
	return ot.New(
		ot.Op{Retain: 5},
		ot.Op{Insert: "héllo 👋 世界", Attributes: ot.Attributes{"bold": true, "color": "#ff0000"}},
		ot.Op{Retain: 3, Attributes: ot.Attributes{"italic": nil, "indent": 2}},
		ot.Op{Embed: &ot.Embed{Type: "image", Value: "https://example.com/a.png"}, Attributes: ot.Attributes{"width": 120.5}},
		ot.Op{Embed: &ot.Embed{Type: "formula", Value: map[string]any{"tex": "e^{i\\pi}", "n": []any{1, 2.5, nil, "x", false}}}},
		ot.Op{Delete: 2},
	)
}

func docDelta() ot.Delta {
	return ot.New(
		ot.Op{Insert: "Title", Attributes: ot.Attributes{"bold": true}},
		ot.Op{Insert: "\n", Attributes: ot.Attributes{"header": 1}},
		ot.Op{Embed: &ot.Embed{Type: "image", Value: "x.png"}},
		ot.Op{Insert: "😀\n"},
	)
}

func typingDelta() ot.Delta {
	return ot.New(ot.Op{Retain: 1234}, ot.Op{Insert: "a"})
}

type codecSample struct {
	name   string
	msg    any
	server bool // decoded with DecodeServer
}

// codecSamples holds messages of every type, with every optional field set and
// left out.
func codecSamples() []codecSample {
	snap := docDelta()
	empty := ot.Delta{}
	return []codecSample{
		{"hello/minimal", &Hello{Version: 1, Client: "c1", Rev: -1}, false},
		{"hello/full", &Hello{Version: 1, Client: "Ab_9-x", Rev: 42, Epoch: "e-7f3a", Pending: 7,
			Token: "secret.token", Name: "Zoë 🦊", Color: "#A0b1C2"}, false},
		{"hello/rev_0", &Hello{Version: 1, Client: "c", Rev: 0}, false},
		{"op/typing", &Submit{Seq: 1, Base: 0, Delta: typingDelta()}, false},
		{"op/rich", &Submit{Seq: 9007199254740991, Base: 77, Delta: richDelta()}, false},
		{"op/empty_delta", &Submit{Seq: 3, Base: 1, Delta: ot.Delta{Ops: []ot.Op{}}}, false},
		{"presence/sel", &SetPresence{Sel: &Selection{Index: 3, Length: 0}}, false},
		{"presence/none", &SetPresence{}, false},
		{"welcome/minimal", &Welcome{Rev: 0}, true},
		{"welcome/ops", &Welcome{Epoch: "e1", Rev: 12, Ops: []Remote{
			{Rev: 11, Delta: typingDelta(), Client: "c2", Seq: 4, Author: "Ann"},
			{Rev: 12, Delta: richDelta()},
		}, Seq: 3, Presence: []Presence{
			{Client: "c2", Name: "Ann", Color: "#123456", Sel: &Selection{Index: 1, Length: 2}},
			{Client: "c3"},
		}, Access: AccessEdit}, true},
		{"welcome/snapshot", &Welcome{Epoch: "e2", Rev: 500, Snapshot: &snap, Reset: true, Access: AccessView}, true},
		{"welcome/empty_snapshot", &Welcome{Epoch: "e2", Rev: 0, Snapshot: &empty}, true},
		{"ack", &Ack{Seq: 5, Rev: 1001}, true},
		{"op/remote", &Remote{Rev: 1, Delta: richDelta(), Client: "c9", Seq: 2, Author: "Bo"}, true},
		{"op/remote_minimal", &Remote{Rev: 2, Delta: typingDelta()}, true},
		{"presence/remote", &Presence{Client: "c2", Name: "Ann", Color: "#ffffff", Sel: &Selection{Index: 0, Length: 10}}, true},
		{"presence/remote_none", &Presence{Client: "c2"}, true},
		{"leave", &Leave{Client: "c2"}, true},
		{"error/full", &Error{Code: CodeSeqConflict, Msg: "seq 4 was applied with another op", Seq: 4}, true},
		{"error/minimal", &Error{Code: CodeInternal}, true},
	}
}

func decodeAs(server bool, frame []byte) (any, error) {
	if server {
		return DecodeServer(frame)
	}
	return DecodeClient(frame)
}

// sameMessage compares messages, deltas by value (so that an int and an
// int64 attribute are equal) and empty lists as nil.
func sameMessage(a, b any) bool {
	switch x := a.(type) {
	case *Submit:
		y, ok := b.(*Submit)
		return ok && x.Seq == y.Seq && x.Base == y.Base && x.Delta.Equal(y.Delta)
	case *Remote:
		y, ok := b.(*Remote)
		return ok && sameRemote(*x, *y)
	case *Welcome:
		y, ok := b.(*Welcome)
		if !ok || x.Epoch != y.Epoch || x.Rev != y.Rev || x.Reset != y.Reset || x.Seq != y.Seq ||
			x.Access != y.Access || len(x.Ops) != len(y.Ops) || len(x.Presence) != len(y.Presence) ||
			(x.Snapshot == nil) != (y.Snapshot == nil) {
			return false
		}
		if x.Snapshot != nil && !x.Snapshot.Equal(*y.Snapshot) {
			return false
		}
		for i := range x.Ops {
			if !sameRemote(x.Ops[i], y.Ops[i]) {
				return false
			}
		}
		for i := range x.Presence {
			if !reflect.DeepEqual(x.Presence[i], y.Presence[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func sameRemote(x, y Remote) bool {
	return x.Rev == y.Rev && x.Client == y.Client && x.Seq == y.Seq && x.Author == y.Author && x.Delta.Equal(y.Delta)
}

func TestCodec_RoundTrip(t *testing.T) {
	for _, tc := range codecSamples() {
		t.Run(tc.name, func(t *testing.T) {
			frame, err := Encode(tc.msg)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got, err := decodeAs(tc.server, frame)
			if err != nil {
				t.Fatalf("decode: %v (frame % x)", err, frame)
			}
			if !sameMessage(tc.msg, got) {
				t.Fatalf("round trip:\nwant %#v\ngot  %#v", tc.msg, got)
			}
			// Encoding is deterministic.
			again, err := Encode(got)
			if err != nil || !bytes.Equal(frame, again) {
				t.Fatalf("re-encoding differs (%v):\n% x\n% x", err, frame, again)
			}
			// The other direction does not accept it, except for the
			// two types that exist both ways.
			if _, err := decodeAs(!tc.server, frame); err == nil {
				if typ := frameType(t, frame); typ != TypeOp && typ != TypePresence {
					t.Fatalf("%s decoded in the wrong direction", typ)
				}
			} else if errCode(err) != CodeUnknownType && errCode(err) != CodeBadMessage {
				t.Fatalf("wrong direction: %v", err)
			}
		})
	}
}

// TestCodec_Concurrent runs Encode and both decoders from several
// goroutines, for the race detector and the pools.
func TestCodec_Concurrent(t *testing.T) {
	cases := codecSamples()
	frames := make([][]byte, len(cases))
	for i, tc := range cases {
		var err error
		if frames[i], err = Encode(tc.msg); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for n := range 100 {
				i := (g + n) % len(cases)
				frame, err := Encode(cases[i].msg)
				if err == nil && !bytes.Equal(frame, frames[i]) {
					err = fmt.Errorf("%s: frame differs", cases[i].name)
				}
				if err == nil {
					var got any
					if got, err = decodeAs(cases[i].server, frame); err == nil && !sameMessage(cases[i].msg, got) {
						err = fmt.Errorf("%s: message differs", cases[i].name)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func frameType(t *testing.T, frame []byte) string {
	t.Helper()
	var m map[string]any
	if err := msgpack.Unmarshal(frame, &m); err != nil {
		t.Fatal(err)
	}
	s, _ := m["t"].(string)
	return s
}

func errCode(err error) string {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return fmt.Sprintf("not a ProtocolError: %v", err)
}

// TestCodec_Keys pins the wire names: the frames of a few messages, read
// back as generic maps.
func TestCodec_Keys(t *testing.T) {
	tests := []struct {
		name string
		msg  any
		want string // the frame as JSON, with sorted keys
	}{
		{"hello", &Hello{Version: 1, Client: "c", Rev: 3, Epoch: "e", Pending: 2, Token: "k", Name: "n", Color: "#000000"},
			`{"client":"c","color":"#000000","epoch":"e","name":"n","pending":2,"rev":3,"t":"hello","token":"k","v":1}`},
		{"hello_no_rev", &Hello{Version: 1, Client: "c", Rev: -1},
			`{"client":"c","t":"hello","v":1}`},
		{"op", &Submit{Seq: 1, Base: 2, Delta: typingDelta()},
			`{"delta":{"ops":[{"retain":1234},{"insert":"a"}]},"rev":2,"seq":1,"t":"op"}`},
		{"presence", &SetPresence{Sel: &Selection{Index: 1, Length: 2}},
			`{"sel":{"index":1,"length":2},"t":"presence"}`},
		{"presence_none", &SetPresence{}, `{"sel":null,"t":"presence"}`},
		{"welcome", &Welcome{Epoch: "e", Rev: 2, Ops: []Remote{{Rev: 2, Delta: ot.New(ot.Op{Delete: 1}), Client: "c", Seq: 1, Author: "a"}},
			Reset: true, Seq: 1, Presence: []Presence{{Client: "d", Sel: nil}}, Access: AccessEdit},
			`{"access":"edit","epoch":"e","ops":[{"author":"a","client":"c","delta":{"ops":[{"delete":1}]},"rev":2,"seq":1}],"presence":[{"client":"d","sel":null}],"reset":true,"rev":2,"seq":1,"t":"welcome"}`},
		{"ack", &Ack{Seq: 1, Rev: 2}, `{"rev":2,"seq":1,"t":"ack"}`},
		{"remote", &Remote{Rev: 2, Delta: ot.New(ot.Op{Insert: "x", Attributes: ot.Attributes{"b": true, "a": nil}}), Client: "c", Seq: 1, Author: "a"},
			`{"author":"a","client":"c","delta":{"ops":[{"attributes":{"a":null,"b":true},"insert":"x"}]},"rev":2,"seq":1,"t":"op"}`},
		{"presence_remote", &Presence{Client: "c", Name: "n", Color: "#abcdef", Sel: &Selection{Index: 1, Length: 0}},
			`{"client":"c","color":"#abcdef","name":"n","sel":{"index":1,"length":0},"t":"presence"}`},
		{"leave", &Leave{Client: "c"}, `{"client":"c","t":"leave"}`},
		{"error", &Error{Code: CodeBadDelta, Msg: "m", Seq: 3}, `{"code":"bad_delta","msg":"m","seq":3,"t":"error"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frame, err := Encode(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := msgpack.Unmarshal(frame, &v); err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("frame as JSON:\ngot  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestCodec_DeltaIsValue checks that a delta's encoding is exactly the
// shape of ot.Delta.Value().
func TestCodec_DeltaIsValue(t *testing.T) {
	for _, d := range []ot.Delta{richDelta(), docDelta(), typingDelta(), {}} {
		frame, err := Encode(&Remote{Rev: 1, Delta: d})
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := msgpack.Unmarshal(frame, &m); err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(m["delta"])
		want, _ := json.Marshal(d.Value())
		if !bytes.Equal(got, want) {
			t.Errorf("delta encoding:\ngot  %s\nwant %s", got, want)
		}
	}
}

// Values for jsFrame, which builds frames the way JavaScript encoders do,
// with explicit number encodings.
type (
	jsF64 float64
	jsF32 float32
	jsU8  uint8
	jsU16 uint16
	jsI64 int64 // always 9 bytes
	jsU64 uint64
	jsMap []any // a map, as alternating keys and values, in order
	jsBin []byte
)

func jsFrame(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	var put func(v any)
	put = func(v any) {
		var err error
		switch x := v.(type) {
		case nil:
			err = e.EncodeNil()
		case bool:
			err = e.EncodeBool(x)
		case string:
			err = e.EncodeString(x)
		case int:
			err = e.EncodeInt(int64(x))
		case jsF64:
			err = e.EncodeFloat64(float64(x))
		case jsF32:
			err = e.EncodeFloat32(float32(x))
		case jsU8:
			err = e.EncodeUint8(uint8(x))
		case jsU16:
			err = e.EncodeUint16(uint16(x))
		case jsI64:
			err = e.EncodeInt64(int64(x))
		case jsU64:
			err = e.EncodeUint64(uint64(x))
		case jsBin:
			err = e.EncodeBytes(x)
		case []any:
			err = e.EncodeArrayLen(len(x))
			for _, y := range x {
				put(y)
			}
		case jsMap:
			err = e.EncodeMapLen(len(x) / 2)
			for _, y := range x {
				put(y)
			}
		default:
			t.Fatalf("jsFrame: %T", v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	put(v)
	return buf.Bytes()
}

func deltaOps(o ...any) jsMap { return jsMap{"ops", o} }

func TestDecode_JSStyle(t *testing.T) {
	tests := []struct {
		name   string
		frame  any
		server bool
		want   any
	}{
		{"op_float64_numbers", jsMap{"t", "op", "seq", jsF64(1), "rev", jsF64(0), "delta", deltaOps(jsMap{"retain", jsF64(3)}, jsMap{"insert", "a"})},
			false, &Submit{Seq: 1, Base: 0, Delta: ot.New(ot.Op{Retain: 3}, ot.Op{Insert: "a"})}},
		{"op_uint8_uint16", jsMap{"t", "op", "seq", jsU8(200), "rev", jsU16(40000), "delta", deltaOps(jsMap{"delete", jsU8(1)})},
			false, &Submit{Seq: 200, Base: 40000, Delta: ot.New(ot.Op{Delete: 1})}},
		{"op_int64_float32", jsMap{"t", "op", "seq", jsI64(7), "rev", jsF32(12), "delta", deltaOps(jsMap{"insert", "x", "attributes", jsMap{"size", jsF64(1.5)}})},
			false, &Submit{Seq: 7, Base: 12, Delta: ot.New(ot.Op{Insert: "x", Attributes: ot.Attributes{"size": 1.5}})}},
		{"op_uint64", jsMap{"t", "op", "seq", jsU64(9), "rev", jsU64(0), "delta", deltaOps()},
			false, &Submit{Seq: 9, Base: 0, Delta: ot.Delta{Ops: []ot.Op{}}}},
		{"op_key_order_and_extras", jsMap{"delta", deltaOps(jsMap{"insert", jsMap{"image", "a.png"}, "attributes", nil}), "future", jsMap{"x", []any{1, "y"}}, "rev", 5, "t", "op", "seq", 2},
			false, &Submit{Seq: 2, Base: 5, Delta: ot.New(ot.Op{Embed: &ot.Embed{Type: "image", Value: "a.png"}})}},
		{"hello_minimal", jsMap{"t", "hello", "v", 1, "client", "tab-1"},
			false, &Hello{Version: 1, Client: "tab-1", Rev: -1}},
		{"hello_nulls", jsMap{"t", "hello", "v", jsF64(1), "client", "tab-1", "rev", nil, "epoch", nil, "pending", nil, "token", nil, "name", nil, "color", nil},
			false, &Hello{Version: 1, Client: "tab-1", Rev: -1}},
		{"hello_rev_minus_one", jsMap{"t", "hello", "v", 1, "client", "a", "rev", -1, "epoch", "", "pending", 0, "color", ""},
			false, &Hello{Version: 1, Client: "a", Rev: -1}},
		{"hello_future_version", jsMap{"t", "hello", "v", 2, "client", "a"},
			false, &Hello{Version: 2, Client: "a", Rev: -1}},
		{"presence_no_sel_key", jsMap{"t", "presence"}, false, &SetPresence{}},
		{"presence_float_sel", jsMap{"t", "presence", "sel", jsMap{"index", jsF64(4), "length", jsF64(0)}},
			false, &SetPresence{Sel: &Selection{Index: 4}}},
		{"ack_float", jsMap{"t", "ack", "seq", jsF64(3), "rev", jsF64(10)}, true, &Ack{Seq: 3, Rev: 10}},
		{"welcome_empty_lists", jsMap{"t", "welcome", "rev", 0, "ops", []any{}, "presence", []any{}, "reset", false},
			true, &Welcome{}},
		{"error_msg_bad_utf8", jsMap{"t", "error", "code", "x", "msg", "a\xffb"}, true, &Error{Code: "x", Msg: "a\uFFFDb"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeAs(tc.server, jsFrame(t, tc.frame))
			if err != nil {
				t.Fatal(err)
			}
			if !sameMessage(tc.want, got) {
				t.Fatalf("\nwant %#v\ngot  %#v", tc.want, got)
			}
		})
	}
}

// nestedMaps returns n maps nested as {"a": {"a": ... {}}}.
func nestedMaps(n int) []byte {
	b := bytes.Repeat([]byte{0x81, 0xa1, 'a'}, n-1)
	return append(b, 0x80)
}

// deepAttributes returns a delta whose attribute value nests n arrays.
func deepAttributes(n int) ot.Delta {
	var v any = "x"
	for range n {
		v = []any{v}
	}
	return ot.New(ot.Op{Insert: "a", Attributes: ot.Attributes{"deep": v}})
}

var (
	hugeArray = []byte{0xdd, 0xff, 0xff, 0xff, 0xff}
	hugeMap   = []byte{0xdf, 0xff, 0xff, 0xff, 0xff}
	hugeStr   = []byte{0xdb, 0xff, 0xff, 0xff, 0xff}
	hugeBin   = []byte{0xc6, 0xff, 0xff, 0xff, 0xff}
)

// inTypeField puts raw bytes as the value of "t" in a one-key map.
func inTypeField(raw []byte) []byte { return append([]byte{0x81, 0xa1, 't'}, raw...) }

// opWithRawOps is {"t":"op","seq":1,"rev":0,"delta":{"ops":<raw>}}.
func opWithRawOps(raw []byte) []byte {
	return append([]byte{0x84, 0xa1, 't', 0xa2, 'o', 'p', 0xa3, 's', 'e', 'q', 0x01, 0xa3, 'r', 'e', 'v', 0x00,
		0xa5, 'd', 'e', 'l', 't', 'a', 0x81, 0xa3, 'o', 'p', 's'}, raw...)
}

// deepArrays is {"t": [[[...]]]} with n arrays.
func deepArrays(n int) []byte {
	b := inTypeField(bytes.Repeat([]byte{0x91}, n))
	return append(b, 0xc0)
}

func badFrames(t testing.TB) []struct {
	name    string
	frame   []byte
	server  bool
	errCode string
	msg     string // a part of the message
} {
	validOp := jsFrame(t, jsMap{"t", "op", "seq", 1, "rev", 0, "delta", deltaOps(jsMap{"insert", "a"})})
	opWith := func(delta any) []byte {
		return jsFrame(t, jsMap{"t", "op", "seq", 1, "rev", 0, "delta", delta})
	}
	hello := func(extra ...any) []byte {
		return jsFrame(t, append(jsMap{"t", "hello", "v", 1, "client", "c1"}, extra...))
	}
	return []struct {
		name    string
		frame   []byte
		server  bool
		errCode string
		msg     string
	}{
		{"empty", nil, false, CodeBadFrame, "empty"},
		{"garbage_text", []byte("hello world"), false, CodeBadFrame, "not a msgpack map"},
		{"garbage_c1", []byte{0xc1}, false, CodeBadFrame, "not a msgpack map"},
		{"garbage_in_map", []byte{0x81, 0xa1, 't', 0xc1}, false, CodeBadFrame, "invalid byte"},
		{"truncated", validOp[:len(validOp)-1], false, CodeBadFrame, "declared"},
		{"truncated_header", []byte{0x81, 0xa1, 't', 0xcd, 0x01}, false, CodeBadFrame, "declared"},
		{"truncated_length", []byte{0x81, 0xa1, 't', 0xdb, 0x00}, false, CodeBadFrame, "truncated"},
		{"truncated_map", []byte{0x82, 0xa1, 't', 0xa2, 'o', 'p'}, false, CodeBadFrame, "truncated"},
		{"trailing_bytes", append(bytes.Clone(validOp), 0xc0), false, CodeBadFrame, "1 bytes after"},
		{"two_maps", append(bytes.Clone(validOp), validOp...), false, CodeBadFrame, "after the message"},
		{"array32_bomb", hugeArray, false, CodeBadFrame, "not a msgpack map"},
		{"map32_bomb", hugeMap, false, CodeBadFrame, "elements declared"},
		{"str32_bomb", hugeStr, false, CodeBadFrame, "not a msgpack map"},
		{"array32_bomb_inside", inTypeField(hugeArray), false, CodeBadFrame, "4294967295 elements declared"},
		{"map32_bomb_inside", inTypeField(hugeMap), false, CodeBadFrame, "8589934590 elements declared"},
		{"str32_bomb_inside", inTypeField(hugeStr), false, CodeBadFrame, "4294967295 bytes declared"},
		{"bin32_bomb_inside", inTypeField(hugeBin), false, CodeBadFrame, "4294967295 bytes declared"},
		{"array32_bomb_in_delta", opWithRawOps(hugeArray), false, CodeBadFrame, "4294967295 elements declared"},
		{"deep_arrays_100k", deepArrays(100_000), false, CodeBadFrame, "nested deeper than 32"},
		{"deep_arrays_100k_server", deepArrays(100_000), true, CodeBadFrame, "nested deeper than 80"},
		{"depth_32", nestedMaps(32), false, CodeBadMessage, "no type"},
		{"depth_33", nestedMaps(33), false, CodeBadFrame, "nested deeper than 32"},
		{"depth_80_server", nestedMaps(80), true, CodeBadMessage, "no type"},
		{"depth_81_server", nestedMaps(81), true, CodeBadFrame, "nested deeper than 80"},
		{"top_array", jsFrame(t, []any{"t", "op"}), false, CodeBadFrame, "not a msgpack map"},
		{"top_string", jsFrame(t, "op"), false, CodeBadFrame, "not a msgpack map"},
		{"top_nil", []byte{0xc0}, false, CodeBadFrame, "not a msgpack map"},
		{"int_key", jsFrame(t, jsMap{1, "x"}), false, CodeBadFrame, "map key is not a string"},
		{"nil_key", jsFrame(t, jsMap{"t", "op", nil, 1}), false, CodeBadFrame, "map key is not a string"},
		{"bin_key", jsFrame(t, jsMap{jsBin("t"), "op"}), false, CodeBadFrame, "map key is not a string"},
		{"int_key_in_delta", opWith(jsMap{"ops", []any{jsMap{1, 2}}}), false, CodeBadFrame, "map key is not a string"},
		{"fixext", []byte{0x81, 0xa1, 't', 0xd4, 0x01, 0x00}, false, CodeBadFrame, "extension"},
		{"timestamp_ext", []byte{0x81, 0xa1, 't', 0xd6, 0xff, 0, 0, 0, 0}, false, CodeBadFrame, "extension"},
		{"ext32_bomb", []byte{0x81, 0xa1, 't', 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01}, false, CodeBadFrame, "extension"},
		{"missing_t", jsFrame(t, jsMap{"seq", 1}), false, CodeBadMessage, "no type"},
		{"nil_t", jsFrame(t, jsMap{"t", nil}), false, CodeBadMessage, "no type"},
		{"int_t", jsFrame(t, jsMap{"t", 5}), false, CodeBadMessage, "must be a string"},
		{"unknown_type", jsFrame(t, jsMap{"t", "dance"}), false, CodeUnknownType, `"dance"`},
		{"server_type_from_client", jsFrame(t, jsMap{"t", "welcome", "rev", 0}), false, CodeUnknownType, "welcome"},
		{"client_type_from_server", hello(), true, CodeUnknownType, "hello"},
		{"hello_no_client", jsFrame(t, jsMap{"t", "hello", "v", 1}), false, CodeBadMessage, "client is missing"},
		{"hello_no_version", jsFrame(t, jsMap{"t", "hello", "client", "c"}), false, CodeBadMessage, "v is missing"},
		{"hello_empty_client", jsFrame(t, jsMap{"t", "hello", "v", 1, "client", ""}), false, CodeBadMessage, "client must be 1 to 64"},
		{"hello_client_space", jsFrame(t, jsMap{"t", "hello", "v", 1, "client", "a b"}), false, CodeBadMessage, "client must be"},
		{"hello_client_unicode", jsFrame(t, jsMap{"t", "hello", "v", 1, "client", "é"}), false, CodeBadMessage, "client must be"},
		{"hello_client_65", jsFrame(t, jsMap{"t", "hello", "v", 1, "client", strings.Repeat("a", 65)}), false, CodeBadMessage, "client must be"},
		{"hello_client_number", jsFrame(t, jsMap{"t", "hello", "v", 1, "client", 7}), false, CodeBadMessage, "client must be a string, not a number"},
		{"hello_rev_-2", hello("rev", -2), false, CodeBadMessage, "rev -2 is out of range -1"},
		{"hello_pending_negative", hello("pending", -1), false, CodeBadMessage, "pending -1 is out of range"},
		{"hello_version_negative", jsFrame(t, jsMap{"t", "hello", "v", -1, "client", "c"}), false, CodeBadMessage, "v -1 is out of range"},
		{"hello_name_65", hello("name", strings.Repeat("é", 65)), false, CodeBadMessage, "name is longer than 64 characters"},
		{"hello_name_bad_utf8", hello("name", "a\xff"), false, CodeBadMessage, "name is not valid UTF-8"},
		{"hello_color_word", hello("color", "red"), false, CodeBadMessage, "color must be"},
		{"hello_color_short", hello("color", "#fff"), false, CodeBadMessage, "color must be"},
		{"hello_color_nonhex", hello("color", "#ggg000"), false, CodeBadMessage, "color must be"},
		{"hello_token_long", hello("token", strings.Repeat("k", 8193)), false, CodeBadMessage, "token is longer"},
		{"hello_epoch_long", hello("epoch", strings.Repeat("e", 129)), false, CodeBadMessage, "epoch is longer"},
		{"hello_epoch_bin", hello("epoch", jsBin("e")), false, CodeBadMessage, "epoch must be a string, not binary data"},
		{"op_seq_0", jsFrame(t, jsMap{"t", "op", "seq", 0, "rev", 0, "delta", deltaOps()}), false, CodeBadMessage, "seq 0 is out of range 1"},
		{"op_seq_negative", jsFrame(t, jsMap{"t", "op", "seq", -1, "rev", 0, "delta", deltaOps()}), false, CodeBadMessage, "seq -1 is out of range"},
		{"op_seq_fraction", jsFrame(t, jsMap{"t", "op", "seq", jsF64(1.5), "rev", 0, "delta", deltaOps()}), false, CodeBadMessage, "seq must be a whole number, not 1.5"},
		{"op_seq_nan", jsFrame(t, jsMap{"t", "op", "seq", jsF64(math.NaN()), "rev", 0, "delta", deltaOps()}), false, CodeBadMessage, "whole number"},
		{"op_seq_inf", jsFrame(t, jsMap{"t", "op", "seq", jsF64(math.Inf(1)), "rev", 0, "delta", deltaOps()}), false, CodeBadMessage, "out of range"},
		{"op_seq_huge_float", jsFrame(t, jsMap{"t", "op", "seq", jsF64(1e300), "rev", 0, "delta", deltaOps()}), false, CodeBadMessage, "out of range"},
		{"op_seq_2^53", jsFrame(t, jsMap{"t", "op", "seq", jsF64(1 << 53), "rev", 0, "delta", deltaOps()}), false, CodeBadMessage, "out of range"},
		{"op_seq_uint64_max", jsFrame(t, jsMap{"t", "op", "seq", jsU64(math.MaxUint64), "rev", 0, "delta", deltaOps()}), false, CodeBadMessage, "out of range"},
		{"op_seq_string", jsFrame(t, jsMap{"t", "op", "seq", "1", "rev", 0, "delta", deltaOps()}), false, CodeBadMessage, "seq must be a number, not a string"},
		{"op_no_seq", jsFrame(t, jsMap{"t", "op", "rev", 0, "delta", deltaOps()}), false, CodeBadMessage, "seq is missing"},
		{"op_rev_negative", jsFrame(t, jsMap{"t", "op", "seq", 1, "rev", -1, "delta", deltaOps()}), false, CodeBadMessage, "rev -1 is out of range 0"},
		{"op_no_rev", jsFrame(t, jsMap{"t", "op", "seq", 1, "delta", deltaOps()}), false, CodeBadMessage, "rev is missing"},
		{"op_no_delta", jsFrame(t, jsMap{"t", "op", "seq", 1, "rev", 0}), false, CodeBadMessage, "delta is missing"},
		{"op_retain_-1", opWith(deltaOps(jsMap{"insert", "a"}, jsMap{"retain", -1})), false, CodeBadDelta, "op 1: retain count -1"},
		{"op_delete_0", opWith(deltaOps(jsMap{"delete", 0})), false, CodeBadDelta, "op 0: delete count 0"},
		{"op_retain_fraction", opWith(deltaOps(jsMap{"retain", jsF64(1.5)})), false, CodeBadDelta, "whole number"},
		{"op_unknown_op_key", opWith(deltaOps(jsMap{"insert", "a", "bogus", 1})), false, CodeBadDelta, `op 0: unknown key "bogus"`},
		{"op_empty_insert", opWith(deltaOps(jsMap{"insert", ""})), false, CodeBadDelta, "empty string"},
		{"op_embed_two_keys", opWith(deltaOps(jsMap{"insert", jsMap{"image", "a", "video", "b"}})), false, CodeBadDelta, "exactly one key, not 2"},
		{"op_two_kinds", opWith(deltaOps(jsMap{"insert", "a", "retain", 1})), false, CodeBadDelta, "exactly one"},
		{"op_delta_string", opWith("abc"), false, CodeBadDelta, "object with ops"},
		{"op_delta_unknown_key", opWith(jsMap{"ops", []any{}, "x", 1}), false, CodeBadDelta, `unknown key "x"`},
		{"op_insert_bad_utf8", opWith(deltaOps(jsMap{"insert", "\xff"})), false, CodeBadDelta, "UTF-8"},
		{"op_attributes_list", opWith(deltaOps(jsMap{"insert", "a", "attributes", []any{1}})), false, CodeBadDelta, "not an object"},
		{"op_attribute_binary", opWith(deltaOps(jsMap{"insert", "a", "attributes", jsMap{"b", jsBin("x")}})), false, CodeBadDelta, "not a JSON value"},
		{"presence_sel_string", jsFrame(t, jsMap{"t", "presence", "sel", "x"}), false, CodeBadMessage, "sel must be a map or nil, not a string"},
		{"presence_index_negative", jsFrame(t, jsMap{"t", "presence", "sel", jsMap{"index", -1, "length", 0}}), false, CodeBadMessage, "index -1 is out of range"},
		{"presence_length_missing", jsFrame(t, jsMap{"t", "presence", "sel", jsMap{"index", 1}}), false, CodeBadMessage, "length is missing"},
		{"ack_seq_0", jsFrame(t, jsMap{"t", "ack", "seq", 0, "rev", 1}), true, CodeBadMessage, "seq 0"},
		{"ack_rev_0", jsFrame(t, jsMap{"t", "ack", "seq", 1, "rev", 0}), true, CodeBadMessage, "rev 0 is out of range 1"},
		{"remote_bad_client", jsFrame(t, jsMap{"t", "op", "rev", 1, "delta", deltaOps(), "client", "a b"}), true, CodeBadMessage, "client must be"},
		{"welcome_no_rev", jsFrame(t, jsMap{"t", "welcome"}), true, CodeBadMessage, "rev is missing"},
		{"welcome_ops_not_list", jsFrame(t, jsMap{"t", "welcome", "rev", 1, "ops", "x"}), true, CodeBadMessage, "ops must be an array"},
		{"welcome_op_not_map", jsFrame(t, jsMap{"t", "welcome", "rev", 1, "ops", []any{1}}), true, CodeBadMessage, "ops[0] must be a map"},
		{"welcome_op_bad_delta", jsFrame(t, jsMap{"t", "welcome", "rev", 2, "ops", []any{jsMap{"rev", 1, "delta", deltaOps()}, jsMap{"rev", 2, "delta", deltaOps(jsMap{"retain", 0})}}}), true, CodeBadDelta, "welcome: ops[1]: delta: op 0"},
		{"welcome_snapshot_not_document", jsFrame(t, jsMap{"t", "welcome", "rev", 1, "snapshot", deltaOps(jsMap{"retain", 1})}), true, CodeBadDelta, "not a document"},
		{"welcome_reset_int", jsFrame(t, jsMap{"t", "welcome", "rev", 1, "reset", 1}), true, CodeBadMessage, "reset must be a boolean"},
		{"welcome_presence_bad_sel", jsFrame(t, jsMap{"t", "welcome", "rev", 1, "presence", []any{jsMap{"client", "c", "sel", jsMap{"index", 1, "length", -2}}}}), true, CodeBadMessage, "welcome: presence[0]: length -2"},
		{"leave_no_client", jsFrame(t, jsMap{"t", "leave"}), true, CodeBadMessage, "client is missing"},
		{"error_no_code", jsFrame(t, jsMap{"t", "error", "msg", "x"}), true, CodeBadMessage, "code is missing"},
		{"error_msg_int", jsFrame(t, jsMap{"t", "error", "code", "x", "msg", 1}), true, CodeBadMessage, "msg must be a string"},
	}
}

func TestDecode_BadInput(t *testing.T) {
	for _, tc := range badFrames(t) {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := decodeAs(tc.server, tc.frame)
			if err == nil {
				t.Fatalf("decoded %#v", msg)
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ProtocolError", err, err)
			}
			if pe.Code != tc.errCode || !strings.Contains(pe.Msg, tc.msg) {
				t.Fatalf("got %s %q, want %s containing %q", pe.Code, pe.Msg, tc.errCode, tc.msg)
			}
			if msg != nil {
				t.Fatalf("a message came with the error: %#v", msg)
			}
			if len(pe.Msg) > maxOwnMsg || !strings.HasPrefix(err.Error(), pe.Code+": ") {
				t.Fatalf("message %q: too long or badly formed", err.Error())
			}
		})
	}
}

// TestDecode_BombsAllocateLittle decodes frames that declare huge lengths
// or nest deeply, and checks that decoding allocates next to nothing: no
// length is trusted before it is checked against the frame.
func TestDecode_BombsAllocateLittle(t *testing.T) {
	client := []func([]byte) (any, error){DecodeClient}
	both := []func([]byte) (any, error){DecodeClient, DecodeServer}
	bombs := []struct {
		name     string
		frame    []byte
		decoders []func([]byte) (any, error)
	}{
		{"array32", hugeArray, both},
		{"map32", hugeMap, both},
		{"str32", hugeStr, both},
		{"array32_inside", inTypeField(hugeArray), both},
		{"map32_inside", inTypeField(hugeMap), both},
		{"str32_inside", inTypeField(hugeStr), both},
		{"bin32_inside", inTypeField(hugeBin), both},
		{"array32_in_delta", opWithRawOps(hugeArray), both},
		{"deep_100k", deepArrays(100_000), both},
		{"depth_33", nestedMaps(33), client},
		{"depth_81", nestedMaps(81), []func([]byte) (any, error){DecodeServer}},
	}
	for _, tc := range bombs {
		frame := tc.frame
		t.Run(tc.name, func(t *testing.T) {
			for _, decode := range tc.decoders {
				if _, err := decode(frame); errCode(err) != CodeBadFrame {
					t.Fatalf("got %v, want bad_frame", err)
				}
				allocs := testing.AllocsPerRun(20, func() { _, _ = decode(frame) })
				if allocs > 8 {
					t.Errorf("%v allocations per decode", allocs)
				}
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for range 20 {
					_, _ = decode(frame)
				}
				runtime.ReadMemStats(&after)
				if per := (after.TotalAlloc - before.TotalAlloc) / 20; per > 4<<10 {
					t.Errorf("%d bytes allocated per decode", per)
				}
			}
		})
	}
}

// TestDecode_MemoryBounded decodes the worst frames that pass the scan:
// many tiny containers. Memory stays a bounded multiple of the frame.
func TestDecode_MemoryBounded(t *testing.T) {
	const n = 100_000
	frames := map[string][]byte{
		// {"t":"op","seq":1,"rev":0,"delta":{"ops":[{},{},...]}}
		"empty_maps": append(opWithRawOps([]byte{0xdd, 0, 1, 0x86, 0xa0}), bytes.Repeat([]byte{0x80}, n)...),
		// {"x":[nil,nil,...]}
		"nils": append([]byte{0x81, 0xa1, 'x', 0xdd, 0, 1, 0x86, 0xa0}, bytes.Repeat([]byte{0xc0}, n)...),
		// {"x":{"":nil,"":nil,...}}: one key, repeated
		"repeated_keys": append([]byte{0x81, 0xa1, 'x', 0xdf, 0, 1, 0x86, 0xa0}, bytes.Repeat([]byte{0xa0, 0xc0}, n)...),
	}
	for name, frame := range frames {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := DecodeClient(frame)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("decoded")
			}
			used := after.TotalAlloc - before.TotalAlloc
			ratio := float64(used) / float64(len(frame))
			t.Logf("%d-byte frame: %d bytes allocated (%.0fx): %v", len(frame), used, ratio, err)
			if ratio > 200 {
				t.Errorf("allocated %.0f times the frame size", ratio)
			}
		})
	}
}

func TestEncode_Refuses(t *testing.T) {
	snap := ot.New(ot.Op{Retain: 1})
	tests := []struct {
		name    string
		msg     any
		errCode string // "" when the error is not a ProtocolError
		want    string
	}{
		{"nil", nil, "", "not a message"},
		{"value_not_pointer", Hello{Version: 1, Client: "c"}, "", "not a message"},
		{"nil_pointer", (*Ack)(nil), "", "not a message"},
		{"string", "hello", "", "not a message"},
		{"hello_no_client", &Hello{Version: 1, Rev: -1}, CodeBadMessage, "client must be"},
		{"hello_rev_-2", &Hello{Version: 1, Client: "c", Rev: -2}, CodeBadMessage, "rev -2"},
		{"hello_color", &Hello{Version: 1, Client: "c", Rev: -1, Color: "blue"}, CodeBadMessage, "color"},
		{"hello_name_long", &Hello{Version: 1, Client: "c", Rev: -1, Name: strings.Repeat("x", 65)}, CodeBadMessage, "name is longer"},
		{"op_seq_0", &Submit{Seq: 0, Delta: typingDelta()}, CodeBadMessage, "seq 0"},
		{"op_seq_huge", &Submit{Seq: math.MaxUint64, Delta: typingDelta()}, CodeBadMessage, "seq 18446744073709551615"},
		{"op_base_negative", &Submit{Seq: 1, Base: -1}, CodeBadMessage, "rev -1"},
		{"op_bad_delta", &Submit{Seq: 1, Delta: ot.New(ot.Op{Insert: "a"}, ot.Op{Retain: -1})}, CodeBadDelta, "delta: op 1"},
		{"op_too_deep", &Submit{Seq: 1, Delta: deepAttributes(40)}, CodeBadFrame, "nested deeper than 32"},
		{"presence_negative", &SetPresence{Sel: &Selection{Index: -1}}, CodeBadMessage, "index -1"},
		{"welcome_not_document", &Welcome{Rev: 1, Snapshot: &snap}, CodeBadDelta, "not a document"},
		{"welcome_bad_op", &Welcome{Rev: 1, Ops: []Remote{{Rev: 1}, {Rev: 0}}}, CodeBadMessage, "welcome: ops[1]: rev 0"},
		{"welcome_bad_presence", &Welcome{Rev: 1, Presence: []Presence{{Client: ""}}}, CodeBadMessage, "welcome: presence[0]: client"},
		{"ack_rev_0", &Ack{Seq: 1}, CodeBadMessage, "rev 0"},
		{"remote_bad_embed", &Remote{Rev: 1, Delta: ot.New(ot.Op{Embed: &ot.Embed{Type: "x", Value: struct{}{}}})}, CodeBadDelta, "embed"},
		{"leave_no_client", &Leave{}, CodeBadMessage, "client"},
		{"error_no_code", &Error{Msg: "x"}, CodeBadMessage, "code must not be empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frame, err := Encode(tc.msg)
			if err == nil {
				t.Fatalf("encoded % x", frame)
			}
			if frame != nil {
				t.Fatal("a frame came with the error")
			}
			var pe *ProtocolError
			if errors.As(err, &pe) != (tc.errCode != "") || (pe != nil && pe.Code != tc.errCode) {
				t.Fatalf("error %v: want code %q", err, tc.errCode)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// TestCodec_ServerDepth checks that the server can send any delta that
// package ot accepts, nested as deeply as ot allows, inside a welcome.
func TestCodec_ServerDepth(t *testing.T) {
	var deepest ot.Delta
	for n := 40; n < 100; n++ {
		if deepAttributes(n).Validate() != nil {
			break
		}
		deepest = deepAttributes(n)
	}
	w := &Welcome{Rev: 1, Ops: []Remote{{Rev: 1, Delta: deepest}}}
	frame, err := Encode(w)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeServer(frame)
	if err != nil {
		t.Fatal(err)
	}
	if !sameMessage(w, got) {
		t.Fatal("round trip differs")
	}
}

func TestEncode_FreshFrames(t *testing.T) {
	a, err := Encode(&Submit{Seq: 1, Delta: typingDelta()})
	if err != nil {
		t.Fatal(err)
	}
	keep := bytes.Clone(a)
	b, err := Encode(&Leave{Client: "zz"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, keep) {
		t.Fatal("a later Encode changed an earlier frame")
	}
	for i := range b {
		b[i] = 0xc1
	}
	c, _ := Encode(&Submit{Seq: 1, Delta: typingDelta()})
	if !bytes.Equal(a, keep) || !bytes.Equal(c, keep) {
		t.Fatal("frames share memory")
	}
	if cap(a) != len(a) {
		t.Errorf("frame has spare capacity %d > %d", cap(a), len(a))
	}
}

func TestEncode_ErrorMessageTidied(t *testing.T) {
	long := strings.Repeat("é", 1000) + "\xff"
	frame, err := Encode(&Error{Code: CodeInternal, Msg: "bad \xff byte " + long})
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeServer(frame)
	if err != nil {
		t.Fatal(err)
	}
	msg := got.(*Error).Msg
	if len(msg) > maxErrorMsg || !strings.HasPrefix(msg, "bad \uFFFD byte éé") || !utf8Valid(msg) {
		t.Fatalf("msg not tidied: %d bytes, %q...", len(msg), msg[:20])
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "?") == s }

func TestDecode_ProtocolErrorForBadDelta(t *testing.T) {
	frame := jsFrame(t, jsMap{"t", "op", "seq", 4, "rev", 0, "delta", deltaOps(jsMap{"insert", "ab"}, jsMap{"retain", 1}, jsMap{"retain", -3})})
	_, err := DecodeClient(frame)
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Code != CodeBadDelta {
		t.Fatalf("got %v", err)
	}
	if want := "op: delta: op 2: retain count -3 is out of range 1 to 1099511627776"; pe.Msg != want {
		t.Fatalf("msg %q, want %q", pe.Msg, want)
	}
	if pe.Seq != 4 {
		t.Fatalf("seq %d, want 4", pe.Seq)
	}
}

// TestDecode_ErrorNamesSeq checks that a refused op names its seq once
// the seq could be read, and only then.
func TestDecode_ErrorNamesSeq(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		seq   uint64
	}{
		{"bad_rev", jsFrame(t, jsMap{"t", "op", "seq", 7, "rev", -4, "delta", deltaOps()}), 7},
		{"no_delta", jsFrame(t, jsMap{"t", "op", "seq", 8, "rev", 0}), 8},
		{"bad_seq", jsFrame(t, jsMap{"t", "op", "seq", -8, "rev", 0, "delta", deltaOps(jsMap{"retain", 0})}), 0},
		{"bad_hello", jsFrame(t, jsMap{"t", "hello", "v", 1, "client", "?", "pending", 3}), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeClient(tc.frame)
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Seq != tc.seq {
				t.Fatalf("got %#v, want seq %d", err, tc.seq)
			}
		})
	}
}

func ExampleDecodeClient() {
	frame, _ := Encode(&Submit{Seq: 1, Base: 0, Delta: ot.New(ot.Op{Insert: "Hi"})})
	msg, err := DecodeClient(frame)
	if err != nil {
		fmt.Println(err)
		return
	}
	op := msg.(*Submit)
	fmt.Println(op.Seq, op.Base, op.Delta.Text())

	_, err = DecodeClient([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	fmt.Println(err)
	// Output:
	// 1 0 Hi
	// bad_frame: not a msgpack map (first byte 0xdd)
}

func BenchmarkEncodeOp(b *testing.B) {
	benchEncode(b, &Submit{Seq: 42, Base: 1234, Delta: typingDelta()})
}

func BenchmarkEncodeRemote(b *testing.B) {
	benchEncode(b, &Remote{Rev: 1235, Delta: typingDelta(), Client: "k3Jx9_tab", Seq: 42, Author: "Ann"})
}

// benchEncode encodes msg in a loop and reports the frame's size.
func benchEncode(b *testing.B, msg any) {
	b.Helper()
	var size int
	b.ReportAllocs()
	for b.Loop() {
		frame, err := Encode(msg)
		if err != nil {
			b.Fatal(err)
		}
		size = len(frame)
	}
	b.ReportMetric(float64(size), "bytes/frame")
}

func BenchmarkDecodeOp(b *testing.B) {
	frame, err := Encode(&Submit{Seq: 42, Base: 1234, Delta: typingDelta()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeClient(frame); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(frame)), "bytes/frame")
}
