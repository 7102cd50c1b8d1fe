package loadgen

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/cowrite/cowrite/ot"
)

// A lean reader for the two frames a typist receives all the time: ack and
// op. session.DecodeServer validates every field and builds the delta,
// which made it the load generator's largest cost, and that CPU time comes
// out of the server's on a small machine. This reader takes only what a
// typist needs and leaves every other frame to DecodeServer. It trusts the
// server's framing no further than the bytes it has: a malformed frame is
// an error, never a panic or a large allocation.

// hot is what a typist needs of an ack or an op frame.
type hot struct {
	typ    string // "ack" or "op"; "" for any other frame
	rev    int64
	seq    uint64
	client []byte // the op's author; aliases the frame
	change int    // the op's change of the document's length, in UTF-16 units
}

var errFrame = errors.New("loadgen: malformed frame")

// readHot reads an ack or op frame into h. For any other type it sets
// h.typ to "" and returns nil.
func readHot(frame []byte, h *hot) error {
	*h = hot{}
	r := mpReader{b: frame}
	n, ok := r.mapLen()
	if !ok {
		return errFrame
	}
	var typ []byte
	for range n {
		key, ok := r.str()
		if !ok {
			return errFrame
		}
		switch string(key) {
		case "t":
			if typ, ok = r.str(); !ok {
				return errFrame
			}
			if string(typ) != "ack" && string(typ) != "op" {
				return nil
			}
		case "rev":
			v, ok := r.int()
			if !ok {
				return errFrame
			}
			h.rev = v
		case "seq":
			v, ok := r.int()
			if !ok || v < 0 {
				return errFrame
			}
			h.seq = uint64(v)
		case "client":
			if h.client, ok = r.str(); !ok {
				return errFrame
			}
		case "delta":
			if h.change, ok = r.deltaChange(); !ok {
				return errFrame
			}
		default:
			if !r.skip(0) {
				return errFrame
			}
		}
	}
	switch string(typ) {
	case "ack":
		h.typ = "ack"
	case "op":
		h.typ = "op"
	}
	return nil
}

// mpReader reads msgpack values from b.
type mpReader struct {
	b []byte
	p int
}

func (r *mpReader) byte() (byte, bool) {
	if r.p >= len(r.b) {
		return 0, false
	}
	c := r.b[r.p]
	r.p++
	return c, true
}

// next returns the n bytes that follow.
func (r *mpReader) next(n uint64) ([]byte, bool) {
	if n > uint64(len(r.b)-r.p) {
		return nil, false
	}
	v := r.b[r.p : r.p+int(n)]
	r.p += int(n)
	return v, true
}

// uintN reads a big-endian unsigned integer of size bytes.
func (r *mpReader) uintN(size int) (uint64, bool) {
	b, ok := r.next(uint64(size))
	if !ok {
		return 0, false
	}
	switch size {
	case 1:
		return uint64(b[0]), true
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), true
	case 4:
		return uint64(binary.BigEndian.Uint32(b)), true
	}
	return binary.BigEndian.Uint64(b), true
}

func (r *mpReader) mapLen() (uint64, bool) {
	c, ok := r.byte()
	switch {
	case !ok:
		return 0, false
	case c >= 0x80 && c <= 0x8f:
		return uint64(c & 0x0f), true
	case c == 0xde:
		return r.uintN(2)
	case c == 0xdf:
		return r.uintN(4)
	}
	return 0, false
}

func (r *mpReader) arrayLen() (uint64, bool) {
	c, ok := r.byte()
	switch {
	case !ok:
		return 0, false
	case c >= 0x90 && c <= 0x9f:
		return uint64(c & 0x0f), true
	case c == 0xdc:
		return r.uintN(2)
	case c == 0xdd:
		return r.uintN(4)
	}
	return 0, false
}

func (r *mpReader) str() ([]byte, bool) {
	c, ok := r.byte()
	var n uint64
	switch {
	case !ok:
		return nil, false
	case c >= 0xa0 && c <= 0xbf:
		n = uint64(c & 0x1f)
	case c == 0xd9:
		n, ok = r.uintN(1)
	case c == 0xda:
		n, ok = r.uintN(2)
	case c == 0xdb:
		n, ok = r.uintN(4)
	default:
		return nil, false
	}
	if !ok {
		return nil, false
	}
	return r.next(n)
}

// int reads an integer of any msgpack encoding, or a float that holds a
// whole number (as JavaScript encoders may send).
func (r *mpReader) int() (int64, bool) {
	c, ok := r.byte()
	switch {
	case !ok:
		return 0, false
	case c <= 0x7f:
		return int64(c), true
	case c >= 0xe0:
		return int64(int8(c)), true
	case c >= 0xcc && c <= 0xcf:
		v, ok := r.uintN(1 << (c - 0xcc))
		if !ok || v > math.MaxInt64 {
			return 0, false
		}
		return int64(v), true
	case c >= 0xd0 && c <= 0xd3:
		size := 1 << (c - 0xd0)
		v, ok := r.uintN(size)
		if !ok {
			return 0, false
		}
		shift := 64 - 8*size
		return int64(v<<shift) >> shift, true
	case c == 0xcb:
		v, ok := r.uintN(8)
		f := math.Float64frombits(v)
		if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return 0, false
		}
		return int64(f), true
	}
	return 0, false
}

// deltaChange reads a delta, {"ops": [...]}, and returns how much it
// changes a document's length: its inserts' lengths less its deletes.
func (r *mpReader) deltaChange() (int, bool) {
	fields, ok := r.mapLen()
	if !ok {
		return 0, false
	}
	change := 0
	for range fields {
		key, ok := r.str()
		if !ok {
			return 0, false
		}
		if string(key) != "ops" {
			if !r.skip(0) {
				return 0, false
			}
			continue
		}
		c, ok := r.opsChange()
		if !ok {
			return 0, false
		}
		change += c
	}
	return change, true
}

func (r *mpReader) opsChange() (int, bool) {
	n, ok := r.arrayLen()
	if !ok {
		return 0, false
	}
	change := 0
	for range n {
		m, ok := r.mapLen()
		if !ok {
			return 0, false
		}
		for range m {
			key, ok := r.str()
			if !ok {
				return 0, false
			}
			switch string(key) {
			case "insert":
				if r.p < len(r.b) && (r.b[r.p]>>4 == 0x8 || r.b[r.p] == 0xde || r.b[r.p] == 0xdf) {
					change++ // an embed
					if !r.skip(0) {
						return 0, false
					}
					continue
				}
				s, ok := r.str()
				if !ok {
					return 0, false
				}
				change += ot.UTF16Len(string(s)) // the server sends valid UTF-8
			case "delete":
				d, ok := r.int()
				if !ok || d < 0 || d > math.MaxInt32 {
					return 0, false
				}
				change -= int(d)
			default:
				if !r.skip(0) {
					return 0, false
				}
			}
		}
	}
	return change, true
}

// skip skips one value, nested at most 32 deep.
func (r *mpReader) skip(depth int) bool {
	if depth > 32 {
		return false
	}
	c, ok := r.byte()
	if !ok {
		return false
	}
	var n uint64 // bytes of payload to skip
	items := uint64(0)
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		return true
	case c >= 0x80 && c <= 0x8f:
		items = 2 * uint64(c&0x0f)
	case c >= 0x90 && c <= 0x9f:
		items = uint64(c & 0x0f)
	case c >= 0xa0 && c <= 0xbf:
		n = uint64(c & 0x1f)
	case c == 0xcc, c == 0xd0:
		n = 1
	case c == 0xcd, c == 0xd1:
		n = 2
	case c == 0xca, c == 0xce, c == 0xd2:
		n = 4
	case c == 0xcb, c == 0xcf, c == 0xd3:
		n = 8
	case c == 0xd9, c == 0xc4:
		n, ok = r.uintN(1)
	case c == 0xda, c == 0xc5:
		n, ok = r.uintN(2)
	case c == 0xdb, c == 0xc6:
		n, ok = r.uintN(4)
	case c == 0xdc:
		items, ok = r.uintN(2)
	case c == 0xdd:
		items, ok = r.uintN(4)
	case c == 0xde:
		items, ok = r.uintN(2)
		items *= 2
	case c == 0xdf:
		items, ok = r.uintN(4)
		items *= 2
	default:
		return false // extensions: not in this protocol
	}
	if !ok {
		return false
	}
	if n > 0 {
		_, ok = r.next(n)
		return ok
	}
	for range items {
		if !r.skip(depth + 1) {
			return false
		}
	}
	return true
}
