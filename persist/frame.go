package persist

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// maxFrameDepth bounds the nesting of a stored record: the record map, the
// delta's list of ops, an op, its attributes, and attribute or embed values
// nested as deep as the ot package allows (64).
const maxFrameDepth = 72

var (
	errTruncated = errors.New("truncated")
	errTooDeep   = errors.New("nested too deep")
)

// checkFrame checks that b is exactly one msgpack value whose declared
// lengths all fit in the bytes that follow them, nested at most
// maxFrameDepth deep, without extension types (records use none). The
// msgpack decoder trusts declared lengths and allocates them up front: a
// five-byte record that declares a huge list would exhaust memory. After
// this check every list, map and string the decoder allocates is bounded
// by len(b).
func checkFrame(b []byte) error {
	n, err := skipValue(b, 0)
	if err != nil {
		return err
	}
	if n != len(b) {
		return fmt.Errorf("%d bytes after the record", len(b)-n)
	}
	return nil
}

// unmarshalChecked decodes b into v after checkFrame, so that a corrupt
// length can never make the decoder allocate more than a small multiple of
// len(b).
func unmarshalChecked(b []byte, v any) (err error) {
	defer func() {
		// The decoder has panicked on odd input before (a repeated key);
		// damaged bytes are an error, never a crash.
		if p := recover(); p != nil {
			err = fmt.Errorf("decoder panic: %v", p)
		}
	}()
	if err := checkFrame(b); err != nil {
		return err
	}
	return msgpack.Unmarshal(b, v)
}

// skipValue returns the length of the msgpack value at the start of b.
func skipValue(b []byte, depth int) (int, error) {
	if len(b) == 0 {
		return 0, errTruncated
	}
	c := b[0]
	switch {
	case c <= 0x7f || c >= 0xe0: // positive and negative fixint
		return 1, nil
	case c <= 0x8f: // fixmap
		return skipItems(b, 1, 2*int(c&0x0f), depth)
	case c <= 0x9f: // fixarray
		return skipItems(b, 1, int(c&0x0f), depth)
	case c <= 0xbf: // fixstr
		return skipBytes(b, 1, int(c&0x1f))
	}
	switch c {
	case 0xc0, 0xc2, 0xc3: // nil, false, true
		return 1, nil
	case 0xc4, 0xd9: // bin8, str8
		return skipSized(b, 1)
	case 0xc5, 0xda: // bin16, str16
		return skipSized(b, 2)
	case 0xc6, 0xdb: // bin32, str32
		return skipSized(b, 4)
	case 0xcc, 0xd0: // uint8, int8
		return skipBytes(b, 1, 1)
	case 0xcd, 0xd1: // uint16, int16
		return skipBytes(b, 1, 2)
	case 0xca, 0xce, 0xd2: // float32, uint32, int32
		return skipBytes(b, 1, 4)
	case 0xcb, 0xcf, 0xd3: // float64, uint64, int64
		return skipBytes(b, 1, 8)
	case 0xdc: // array16
		n, err := readLen(b, 2)
		if err != nil {
			return 0, err
		}
		return skipItems(b, 3, n, depth)
	case 0xdd: // array32
		n, err := readLen(b, 4)
		if err != nil {
			return 0, err
		}
		return skipItems(b, 5, n, depth)
	case 0xde: // map16
		n, err := readLen(b, 2)
		if err != nil {
			return 0, err
		}
		return skipItems(b, 3, 2*n, depth)
	case 0xdf: // map32
		n, err := readLen(b, 4)
		if err != nil {
			return 0, err
		}
		return skipItems(b, 5, 2*n, depth)
	}
	return 0, fmt.Errorf("unexpected msgpack code 0x%02x", c)
}

// readLen reads the size-byte big-endian length after the code at b[0].
func readLen(b []byte, size int) (int, error) {
	if len(b) < 1+size {
		return 0, errTruncated
	}
	switch size {
	case 1:
		return int(b[1]), nil
	case 2:
		return int(binary.BigEndian.Uint16(b[1:])), nil
	}
	return int(binary.BigEndian.Uint32(b[1:])), nil
}

// skipSized skips a string or binary whose length takes size bytes.
func skipSized(b []byte, size int) (int, error) {
	n, err := readLen(b, size)
	if err != nil {
		return 0, err
	}
	return skipBytes(b, 1+size, n)
}

// skipBytes checks that n bytes follow the header of length head.
func skipBytes(b []byte, head, n int) (int, error) {
	if n < 0 || n > len(b)-head {
		return 0, errTruncated
	}
	return head + n, nil
}

// skipItems skips n values after the header of length head. Each value
// takes at least one byte, so n is checked against the bytes left before
// anything is read.
func skipItems(b []byte, head, n int, depth int) (int, error) {
	if n > len(b)-head {
		return 0, errTruncated
	}
	if depth >= maxFrameDepth {
		return 0, errTooDeep
	}
	off := head
	for range n {
		m, err := skipValue(b[off:], depth+1)
		if err != nil {
			return 0, err
		}
		off += m
	}
	return off, nil
}
