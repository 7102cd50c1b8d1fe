package persist

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/cowrite/cowrite/doc"
)

// Key prefixes and record kinds. The layout is described in doc.go.
const (
	prefixMeta      = 'm' // m <id>                        → metadata
	prefixTomb      = 't' // t <id>                        → deletion in progress
	prefixRecords   = 'r' // r <id> 0x00 <kind> <suffix>   → a document's records
	prefixHeartbeat = 'h' // h                             → never set: Ready deletes it
	prefixRevoked   = 'v' // v <kind> <id>                 → a revoked user or session (revoke.go)

	kindClient   = 'c' // suffix: the client id
	kindOp       = 'o' // suffix: the revision, 8 bytes big-endian
	kindSnapshot = 's' // suffix: the revision, 8 bytes big-endian

	kindRevokedUser    = 'u' // after prefixRevoked: the user id
	kindRevokedSession = 's' // after prefixRevoked: the session id (jti)
)

// maxClientLen is the longest client id a record may carry. Client ids are
// random tokens; the limit keeps keys far below Badger's.
const maxClientLen = 1024

func metaKey(id string) []byte { return append([]byte{prefixMeta}, id...) }

func tombKey(id string) []byte { return append([]byte{prefixTomb}, id...) }

// recordsPrefix returns the prefix of every record of document id but its
// metadata.
func recordsPrefix(id string) []byte {
	k := make([]byte, 0, len(id)+2+1+8)
	k = append(k, prefixRecords)
	k = append(k, id...)
	return append(k, 0)
}

func kindPrefix(id string, kind byte) []byte { return append(recordsPrefix(id), kind) }

func revKey(id string, kind byte, rev doc.Rev) []byte {
	return binary.BigEndian.AppendUint64(kindPrefix(id, kind), uint64(rev))
}

func opKey(id string, rev doc.Rev) []byte       { return revKey(id, kindOp, rev) }
func snapshotKey(id string, rev doc.Rev) []byte { return revKey(id, kindSnapshot, rev) }

func clientKey(id, client string) []byte { return append(kindPrefix(id, kindClient), client...) }

// keyRev reads the revision at the end of an op or snapshot key under
// prefix. ok is false when the key does not have that shape.
func keyRev(prefix, key []byte) (doc.Rev, bool) {
	if len(key) != len(prefix)+8 {
		return 0, false
	}
	r := binary.BigEndian.Uint64(key[len(prefix):])
	if r > 1<<62 {
		return 0, false
	}
	return doc.Rev(r), true
}

// describeKey names a key for error messages: "op abc@17", "meta abc".
func describeKey(key []byte) string {
	if len(key) == 0 {
		return "empty key"
	}
	switch key[0] {
	case prefixMeta:
		return "meta " + strconv.Quote(string(key[1:]))
	case prefixTomb:
		return "tombstone " + strconv.Quote(string(key[1:]))
	case prefixRevoked:
		return "revocation " + strconv.Quote(string(key[1:]))
	case prefixRecords:
		i := bytes.IndexByte(key, 0)
		if i < 0 || i+1 == len(key) {
			break
		}
		id, tail := strconv.Quote(string(key[1:i])), key[i+1:]
		switch {
		case tail[0] == kindClient:
			return fmt.Sprintf("client %s/%s", id, strconv.Quote(string(tail[1:])))
		case tail[0] == kindOp && len(tail) == 9:
			return fmt.Sprintf("op %s@%d", id, binary.BigEndian.Uint64(tail[1:]))
		case tail[0] == kindSnapshot && len(tail) == 9:
			return fmt.Sprintf("snapshot %s@%d", id, binary.BigEndian.Uint64(tail[1:]))
		}
	}
	return fmt.Sprintf("key %q", key)
}
