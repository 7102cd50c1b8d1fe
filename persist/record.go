package persist

import (
	"errors"
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
)

// recordVersion is the version every record is written with. A reader
// refuses records of a version it does not know rather than guess.
const recordVersion = 1

// Stored records are msgpack maps with short keys, so that fields can be
// added later; "v" is the record version. Times are Unix nanoseconds, 0
// for the zero time. Deltas are their list of ops in Quill's shape.

// metaRecord is stored under m <id>.
type metaRecord struct {
	V       int    `msgpack:"v"`
	Epoch   string `msgpack:"e"`
	Title   string `msgpack:"n,omitempty"`
	Created int64  `msgpack:"c"`
	Updated int64  `msgpack:"u"`
	Rev     int64  `msgpack:"r"`
}

// opRecord is stored under r <id> 0x00 'o' <rev>.
type opRecord struct {
	V      int    `msgpack:"v"`
	Rev    int64  `msgpack:"r"`
	Client string `msgpack:"c,omitempty"`
	Seq    uint64 `msgpack:"s,omitempty"`
	Digest uint64 `msgpack:"h,omitempty"`
	Author string `msgpack:"a,omitempty"`
	User   string `msgpack:"u,omitempty"`
	Time   int64  `msgpack:"t,omitempty"`
	Delta  ops    `msgpack:"d"`
}

// snapshotRecord is stored under r <id> 0x00 's' <rev>.
type snapshotRecord struct {
	V     int   `msgpack:"v"`
	Rev   int64 `msgpack:"r"`
	Delta ops   `msgpack:"d"`
}

// clientRecord is stored under r <id> 0x00 'c' <client>.
type clientRecord struct {
	V      int    `msgpack:"v"`
	Seq    uint64 `msgpack:"s"`
	Digest uint64 `msgpack:"h"`
	Rev    int64  `msgpack:"r"`
	User   string `msgpack:"u,omitempty"`
}

// timeRecord is stored under t <id> while the document's records are
// removed (a tombstone: when the deletion began) and under v <kind> <id>
// (a revocation: its time, revoke.go).
type timeRecord struct {
	V    int   `msgpack:"v"`
	Time int64 `msgpack:"t"`
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// ops is what a record stores of a delta: its list of ops in Quill's shape,
// as generic values. It decodes into a fresh value each time: msgpack
// panics when a record repeats the key of a field of interface type.
type ops struct{ v any }

func deltaValue(d ot.Delta) ops { return ops{d.Value()["ops"]} }

// EncodeMsgpack implements msgpack.CustomEncoder.
func (o ops) EncodeMsgpack(e *msgpack.Encoder) error { return e.Encode(o.v) }

// DecodeMsgpack implements msgpack.CustomDecoder.
func (o *ops) DecodeMsgpack(d *msgpack.Decoder) error {
	var v any
	if err := d.Decode(&v); err != nil {
		return err
	}
	o.v = v
	return nil
}

func encodeMeta(m doc.Meta) ([]byte, error) {
	return msgpack.Marshal(&metaRecord{
		V:       recordVersion,
		Epoch:   m.Epoch,
		Title:   m.Title,
		Created: unixNano(m.Created),
		Updated: unixNano(m.Updated),
		Rev:     int64(m.Rev),
	})
}

func encodeOp(s doc.Sequenced) ([]byte, error) {
	return msgpack.Marshal(&opRecord{
		V:      recordVersion,
		Rev:    int64(s.Rev),
		Client: s.Client,
		Seq:    s.Seq,
		Digest: s.Digest,
		Author: s.Author,
		User:   s.User,
		Time:   unixNano(s.Time),
		Delta:  deltaValue(s.Delta),
	})
}

func encodeSnapshot(rev doc.Rev, content ot.Delta) ([]byte, error) {
	return msgpack.Marshal(&snapshotRecord{V: recordVersion, Rev: int64(rev), Delta: deltaValue(content)})
}

func encodeClient(cs doc.ClientState) ([]byte, error) {
	return msgpack.Marshal(&clientRecord{V: recordVersion, Seq: cs.Seq, Digest: cs.Digest, Rev: int64(cs.Rev), User: cs.User})
}

func encodeTime(t time.Time) ([]byte, error) {
	return msgpack.Marshal(&timeRecord{V: recordVersion, Time: unixNano(t)})
}

// errRecord reports a record that cannot be decoded. Callers name the key
// and wrap doc.ErrCorrupt.
var errRecord = errors.New("bad record")

// unmarshal decodes a record into v, a pointer to a fresh record struct,
// with unmarshalChecked, and checks its version.
func unmarshal(b []byte, v any, version *int) error {
	if err := unmarshalChecked(b, v); err != nil {
		return fmt.Errorf("%w: %v", errRecord, err)
	}
	if *version != recordVersion {
		return fmt.Errorf("%w: version %d, want %d", errRecord, *version, recordVersion)
	}
	return nil
}

func decodeMeta(id string, b []byte) (doc.Meta, error) {
	var r metaRecord
	if err := unmarshal(b, &r, &r.V); err != nil {
		return doc.Meta{}, err
	}
	if r.Rev < 0 {
		return doc.Meta{}, fmt.Errorf("%w: revision %d", errRecord, r.Rev)
	}
	return doc.Meta{
		ID:      id,
		Epoch:   r.Epoch,
		Title:   r.Title,
		Created: fromUnixNano(r.Created),
		Updated: fromUnixNano(r.Updated),
		Rev:     doc.Rev(r.Rev),
	}, nil
}

func decodeOp(b []byte) (doc.Sequenced, error) {
	var r opRecord
	if err := unmarshal(b, &r, &r.V); err != nil {
		return doc.Sequenced{}, err
	}
	if r.Rev < 1 {
		return doc.Sequenced{}, fmt.Errorf("%w: revision %d", errRecord, r.Rev)
	}
	d, err := ot.FromValue(r.Delta.v)
	if err != nil {
		return doc.Sequenced{}, fmt.Errorf("%w: delta: %v", errRecord, err)
	}
	return doc.Sequenced{
		Rev:    doc.Rev(r.Rev),
		Client: r.Client,
		Seq:    r.Seq,
		Delta:  d,
		Digest: r.Digest,
		Author: r.Author,
		User:   r.User,
		Time:   fromUnixNano(r.Time),
	}, nil
}

func decodeSnapshot(b []byte) (doc.Rev, ot.Delta, error) {
	var r snapshotRecord
	if err := unmarshal(b, &r, &r.V); err != nil {
		return 0, ot.Delta{}, err
	}
	if r.Rev < 0 {
		return 0, ot.Delta{}, fmt.Errorf("%w: revision %d", errRecord, r.Rev)
	}
	d, err := ot.FromValue(r.Delta.v)
	if err != nil {
		return 0, ot.Delta{}, fmt.Errorf("%w: delta: %v", errRecord, err)
	}
	if !d.IsDocument() {
		return 0, ot.Delta{}, fmt.Errorf("%w: content is not a document", errRecord)
	}
	return doc.Rev(r.Rev), d, nil
}

func decodeClient(b []byte) (doc.ClientState, error) {
	var r clientRecord
	if err := unmarshal(b, &r, &r.V); err != nil {
		return doc.ClientState{}, err
	}
	if r.Rev < 1 || r.Seq == 0 {
		return doc.ClientState{}, fmt.Errorf("%w: seq %d at revision %d", errRecord, r.Seq, r.Rev)
	}
	return doc.ClientState{Seq: r.Seq, Digest: r.Digest, Rev: doc.Rev(r.Rev), User: r.User}, nil
}

func decodeTime(b []byte) (time.Time, error) {
	var r timeRecord
	if err := unmarshal(b, &r, &r.V); err != nil {
		return time.Time{}, err
	}
	return fromUnixNano(r.Time), nil
}
