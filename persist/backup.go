package persist

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/cowrite/cowrite/doc"
)

// Backup and restore. A backup is Cowrite's own format, independent of
// Badger's: the magic bytes "COWRITE-BACKUP\n", then frames, each a 4-byte
// big-endian payload length, a 4-byte CRC-32 (IEEE) of the payload and the
// payload, a msgpack map with a kind field "k":
//
//	header  {k: "h", v: 1, t: time taken (Unix ns)}
//	doc     {k: "d", i: id, m: metadata record}
//	record  {k: "r", i: id, x: key suffix after r <id> 0x00, b: record}
//	revoked {k: "v", x: key suffix after v, b: record}      (version 2)
//	end     {k: "e", d: documents, r: records, n: revocations}
//
// Records are the store's own records (record.go), byte for byte. A
// document's doc frame comes first, then each of its records in key order:
// client records, ops in revision order, snapshots in revision order.
// After the documents come the revoked users and sessions (revoke.go), so
// that a restored server refuses the tokens the old one refused. The end
// frame's counts make a truncated backup an error rather than a smaller
// store, and nothing may follow it. Version 1 backups have no revocations;
// Restore reads both versions.
//
// Backup reads everything in one read transaction, at one read timestamp:
// it sees every commit before it whole and nothing of a commit after it,
// so no half transaction is ever captured (Badger's own db.Backup, a
// Stream, can split one: upstream issue 2049). Documents being deleted are
// left out.

// backupMagic starts every backup.
const backupMagic = "COWRITE-BACKUP\n"

// backupVersion is the version of the backup format written; Restore
// reads versions 1 to backupVersion.
const backupVersion = 2

// maxBackupFrame bounds a frame that Restore reads: a record is at most a
// value-log file (DefaultValueLogFileSize unless configured larger), plus
// room for its key and framing.
const maxBackupFrame = 1<<30 + 1<<20

// ErrBackupFormat reports a backup that Restore cannot read: not a
// backup, of an unknown version, damaged or truncated.
var ErrBackupFormat = errors.New("persist: not a readable backup")

// ErrNotEmpty reports a Restore into a store that holds data.
var ErrNotEmpty = errors.New("persist: store not empty")

// backupFrame is every frame's payload; fields unused by a kind are empty.
type backupFrame struct {
	Kind    string `msgpack:"k"`
	Version int    `msgpack:"v,omitempty"`
	Time    int64  `msgpack:"t,omitempty"`
	ID      string `msgpack:"i,omitempty"`
	Meta    []byte `msgpack:"m,omitempty"`
	Suffix  []byte `msgpack:"x,omitempty"`
	Value   []byte `msgpack:"b,omitempty"`
	Docs    int64  `msgpack:"d,omitempty"`
	Records int64  `msgpack:"r,omitempty"`
	Revoked int64  `msgpack:"n,omitempty"`
}

// Backup writes every document of the store (metadata, ops, snapshots
// and client records) to w, as they are at one moment: it is safe, and
// consistent, while the store is in use. progress, when not nil, is called
// with the records written so far and the total, now and then and at the
// end. It fails with doc.ErrCorrupt when a metadata record cannot be
// read; other records are copied as they are, and checked by Restore.
func (s *Store) Backup(ctx context.Context, w io.Writer, progress func(done, total int64)) error {
	if progress == nil {
		progress = func(int64, int64) {}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	fw := &frameWriter{w: bw}
	err := s.view(ctx, func(txn *badger.Txn) error {
		ids, total, err := backupIndex(ctx, txn)
		if err != nil {
			return err
		}
		if _, err := bw.WriteString(backupMagic); err != nil {
			return err
		}
		if err := fw.write(&backupFrame{Kind: "h", Version: backupVersion, Time: time.Now().UnixNano()}); err != nil {
			return err
		}
		var done, records int64
		progress(0, total)
		for _, id := range ids {
			meta, ok, err := get(txn, metaKey(id))
			if err != nil {
				return err
			}
			if !ok {
				return corruptf("metadata of %q vanished inside one read", id)
			}
			if _, err := decodeMeta(id, meta); err != nil {
				return corrupt(metaKey(id), err)
			}
			if err := fw.write(&backupFrame{Kind: "d", ID: id, Meta: meta}); err != nil {
				return err
			}
			done++
			prefix := recordsPrefix(id)
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
			for it.Rewind(); it.Valid(); it.Next() {
				if err := ctx.Err(); err != nil {
					it.Close()
					return err
				}
				item := it.Item()
				v, err := item.ValueCopy(nil)
				if err != nil {
					it.Close()
					return storageErr(err)
				}
				f := backupFrame{Kind: "r", ID: id, Suffix: item.KeyCopy(nil)[len(prefix):], Value: v}
				if err := fw.write(&f); err != nil {
					it.Close()
					return err
				}
				done++
				records++
				if done%1024 == 0 {
					progress(done, total)
				}
			}
			it.Close()
		}
		revoked, err := backupRevocations(ctx, txn, fw)
		if err != nil {
			return err
		}
		if err := fw.write(&backupFrame{Kind: "e", Docs: int64(len(ids)), Records: records, Revoked: revoked}); err != nil {
			return err
		}
		progress(done, total)
		return nil
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// backupRevocations writes a frame for every revocation and returns how
// many it wrote.
func backupRevocations(ctx context.Context, txn *badger.Txn, fw *frameWriter) (int64, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixRevoked}, PrefetchValues: true})
	defer it.Close()
	var n int64
	for it.Rewind(); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return n, storageErr(err)
		}
		if err := fw.write(&backupFrame{Kind: "v", Suffix: it.Item().KeyCopy(nil)[1:], Value: v}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// backupIndex returns, in one read, the ids of the documents to back up
// (those with metadata and no deletion under way) and how many records
// they hold, metadata included.
func backupIndex(ctx context.Context, txn *badger.Txn) (ids []string, total int64, err error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixMeta}})
	for it.Rewind(); it.Valid(); it.Next() {
		ids = append(ids, string(it.Item().Key()[1:]))
	}
	it.Close()
	live := ids[:0]
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		deleting, err := exists(txn, tombKey(id))
		if err != nil {
			return nil, 0, err
		}
		if deleting {
			continue
		}
		live = append(live, id)
		total++
		it := txn.NewIterator(badger.IteratorOptions{Prefix: recordsPrefix(id)})
		for it.Rewind(); it.Valid(); it.Next() {
			total++
		}
		it.Close()
	}
	return live, total, nil
}

// frameWriter writes backup frames.
type frameWriter struct {
	w   io.Writer
	hdr [8]byte
}

func (fw *frameWriter) write(f *backupFrame) error {
	b, err := msgpack.Marshal(f)
	if err != nil {
		return err
	}
	binary.BigEndian.PutUint32(fw.hdr[:4], uint32(len(b)))
	binary.BigEndian.PutUint32(fw.hdr[4:], crc32.ChecksumIEEE(b))
	if _, err := fw.w.Write(fw.hdr[:]); err != nil {
		return err
	}
	_, err = fw.w.Write(b)
	return err
}

// frameReader reads backup frames, and checks (count) what Restore and
// VerifyBackup both require of them: their order and kinds, the end
// frame's counts, nothing after it, and each revocation readable.
type frameReader struct {
	r   *bufio.Reader
	buf []byte
	n   int64 // bytes read, for error messages

	sum    BackupSummary // the header's version and time, the frames counted
	lastID string        // of the last doc frame
	inDoc  bool          // a doc frame came after the last revocation frame
}

// openBackup reads the magic bytes and the header frame from r.
func openBackup(r io.Reader) (*frameReader, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	magic := make([]byte, len(backupMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != backupMagic {
		return nil, fmt.Errorf("%w: no backup header", ErrBackupFormat)
	}
	fr := &frameReader{r: br, n: int64(len(backupMagic))}
	f, err := fr.read()
	if err != nil {
		return nil, err
	}
	if f.Kind != "h" || f.Version < 1 || f.Version > backupVersion {
		return nil, fmt.Errorf("%w: header kind %q version %d, want version 1 to %d", ErrBackupFormat, f.Kind, f.Version, backupVersion)
	}
	fr.sum.Version, fr.sum.Taken = f.Version, time.Unix(0, f.Time).UTC()
	return fr, nil
}

func (fr *frameReader) read() (*backupFrame, error) {
	var hdr [8]byte
	if err := fr.readFull(hdr[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(hdr[:4])
	if size > maxBackupFrame {
		return nil, fmt.Errorf("%w: frame of %d bytes at byte %d", ErrBackupFormat, size, fr.n)
	}
	// Grow in steps as bytes arrive, never to a declared size at once.
	fr.buf = fr.buf[:0]
	for remaining := int(size); remaining > 0; {
		chunk := min(remaining, 1<<20)
		start := len(fr.buf)
		fr.buf = append(fr.buf, make([]byte, chunk)...)
		if err := fr.readFull(fr.buf[start:]); err != nil {
			return nil, err
		}
		remaining -= chunk
	}
	b := fr.buf[:size]
	if crc32.ChecksumIEEE(b) != binary.BigEndian.Uint32(hdr[4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch in frame at byte %d", ErrBackupFormat, fr.n)
	}
	var f backupFrame
	if err := unmarshalChecked(b, &f); err != nil {
		return nil, fmt.Errorf("%w: frame at byte %d: %v", ErrBackupFormat, fr.n, err)
	}
	fr.n += 8 + int64(size)
	return &f, nil
}

// readFull fills b from the backup; running out of bytes is a truncated
// backup.
func (fr *frameReader) readFull(b []byte) error {
	_, err := io.ReadFull(fr.r, b)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated at byte %d", ErrBackupFormat, fr.n)
	}
	return err
}

// count checks and counts a frame: documents in id order before any
// revocation, each record after its document's frame, revocations only in
// version 2, the end frame's counts those of the frames read and nothing
// after it. Any other kind is an error.
func (fr *frameReader) count(f *backupFrame) error {
	outOfPlace := fmt.Errorf("%w: frame kind %q out of place at byte %d", ErrBackupFormat, f.Kind, fr.n)
	switch f.Kind {
	case "d":
		if fr.sum.Revoked > 0 {
			return outOfPlace
		}
		if !doc.ValidID(f.ID) || (fr.sum.Docs > 0 && f.ID <= fr.lastID) {
			return fmt.Errorf("%w: document id %q out of place", ErrBackupFormat, f.ID)
		}
		fr.lastID, fr.inDoc = f.ID, true
		fr.sum.Docs++
	case "r":
		if fr.sum.Revoked > 0 {
			return outOfPlace
		}
		if !fr.inDoc || f.ID != fr.lastID {
			return fmt.Errorf("%w: record of %q outside its document", ErrBackupFormat, f.ID)
		}
		fr.sum.Records++
	case "v":
		if fr.sum.Version < 2 {
			return outOfPlace
		}
		if _, err := decodeRevocation(revokedKeyOf(f), f.Value); err != nil {
			return err
		}
		fr.inDoc = false
		fr.sum.Revoked++
	case "e":
		if f.Docs != fr.sum.Docs || f.Records != fr.sum.Records || f.Revoked != fr.sum.Revoked {
			return fmt.Errorf("%w: end says %d documents, %d records and %d revocations, read %d, %d and %d",
				ErrBackupFormat, f.Docs, f.Records, f.Revoked, fr.sum.Docs, fr.sum.Records, fr.sum.Revoked)
		}
		if _, err := fr.r.Peek(1); !errors.Is(err, io.EOF) {
			if err != nil {
				return err
			}
			return fmt.Errorf("%w: bytes after the end frame", ErrBackupFormat)
		}
	default:
		return outOfPlace
	}
	return nil
}

// revokedKeyOf is the store key of a revocation frame.
func revokedKeyOf(f *backupFrame) []byte { return append([]byte{prefixRevoked}, f.Suffix...) }

// frames returns how many doc, record and revocation frames were read.
func (fr *frameReader) frames() int64 { return fr.sum.Docs + fr.sum.Records + fr.sum.Revoked }

// Restore reads a backup written by Backup into the store, which must be
// empty (ErrNotEmpty otherwise). Every document keeps its history: the
// same ops at the same revisions, its snapshots and its client records.
// Each gets a new epoch, so that clients that knew it reload rather than
// replay. Every record is checked as it is read; the first that is
// damaged, or a backup that is truncated, fails Restore with an error
// wrapping ErrBackupFormat or doc.ErrCorrupt. A document's metadata is
// written after all its records, so a document whose restore did not
// finish is reported corrupt rather than taken for a shorter one; a failed
// restore should be started again into a fresh directory. progress, when
// not nil, is called with the records restored so far (the total is -1:
// unknown until the end).
func (s *Store) Restore(ctx context.Context, r io.Reader, progress func(done, total int64)) error {
	if progress == nil {
		progress = func(int64, int64) {}
	}
	if err := s.restore(ctx, r, progress); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// restore is Restore, with its errors not yet wrapped.
func (s *Store) restore(ctx context.Context, r io.Reader, progress func(done, total int64)) error {
	if err := s.checkEmpty(ctx); err != nil {
		return err
	}
	fr, err := openBackup(r)
	if err != nil {
		return err
	}
	var (
		cur     *restoreDoc
		revoked []entry
	)
	flush := func() error {
		if cur == nil {
			return nil
		}
		err := s.restoreDoc(ctx, cur)
		cur = nil
		return err
	}
	for {
		f, err := fr.read()
		if err != nil {
			return err
		}
		if f.Kind == "d" || f.Kind == "v" {
			// The document before is whole.
			if err := flush(); err != nil {
				return err
			}
		}
		if err := fr.count(f); err != nil {
			return err
		}
		switch f.Kind {
		case "d":
			m, err := decodeMeta(f.ID, f.Meta)
			if err != nil {
				return corrupt(metaKey(f.ID), err)
			}
			cur = &restoreDoc{meta: m, nextOp: 1}
		case "r":
			if err := cur.add(s, f.Suffix, f.Value); err != nil {
				return err
			}
			if len(cur.ents) >= deleteChunk {
				if err := s.restoreChunk(ctx, cur); err != nil {
					return err
				}
			}
			if fr.frames()%1024 == 0 {
				progress(fr.frames(), -1)
			}
		case "v":
			revoked = append(revoked, entry{key: revokedKeyOf(f), value: f.Value})
		case "e":
			if err := flush(); err != nil {
				return err
			}
			if err := s.restoreChunk(ctx, &restoreDoc{ents: revoked}); err != nil {
				return err
			}
			progress(fr.frames(), fr.frames())
			return nil
		}
	}
}

// checkEmpty fails with ErrNotEmpty when the store holds any key.
func (s *Store) checkEmpty(ctx context.Context) error {
	return s.view(ctx, func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false})
		defer it.Close()
		it.Rewind()
		if it.Valid() {
			return fmt.Errorf("%w: it holds %s", ErrNotEmpty, describeKey(it.Item().KeyCopy(nil)))
		}
		return nil
	})
}

// restoreDoc is a document being restored: its metadata, the records
// read and not yet written, and what the checks need.
type restoreDoc struct {
	meta    doc.Meta
	ents    []entry
	nextOp  doc.Rev // the revision the next op record must have
	snap0   bool    // a snapshot at revision 0 was read
	lastKey []byte
}

// add checks one record of d and queues it for writing.
func (d *restoreDoc) add(s *Store, suffix, value []byte) error {
	id := d.meta.ID
	key := append(recordsPrefix(id), suffix...)
	if len(suffix) == 0 {
		return corrupt(key, errors.New("empty key"))
	}
	if d.lastKey != nil && string(key) <= string(d.lastKey) {
		return fmt.Errorf("%w: %s out of order", ErrBackupFormat, describeKey(key))
	}
	d.lastKey = key
	switch suffix[0] {
	case kindClient:
		if len(suffix) == 1 || len(suffix)-1 > maxClientLen {
			return corrupt(key, errors.New("malformed key"))
		}
		cs, err := decodeClient(value)
		if err != nil {
			return corrupt(key, err)
		}
		if cs.Rev > d.meta.Rev {
			return corrupt(key, fmt.Errorf("revision %d after the log's end %d", cs.Rev, d.meta.Rev))
		}
	case kindOp:
		rev, ok := keyRev(kindPrefix(id, kindOp), key)
		if !ok {
			return corrupt(key, errors.New("malformed key"))
		}
		if rev != d.nextOp {
			return corruptf("op %q@%d is missing", id, d.nextOp)
		}
		op, err := decodeOp(value)
		if err != nil {
			return corrupt(key, err)
		}
		if op.Rev != rev {
			return corrupt(key, fmt.Errorf("record says revision %d", op.Rev))
		}
		if rev > d.meta.Rev {
			return corrupt(key, fmt.Errorf("op after the metadata's revision %d", d.meta.Rev))
		}
		d.nextOp++
	case kindSnapshot:
		rev, ok := keyRev(kindPrefix(id, kindSnapshot), key)
		if !ok {
			return corrupt(key, errors.New("malformed key"))
		}
		snapRev, _, err := decodeSnapshot(value)
		if err != nil {
			return corrupt(key, err)
		}
		if snapRev != rev || rev > d.meta.Rev {
			return corrupt(key, fmt.Errorf("snapshot of revision %d (log ends at %d)", snapRev, d.meta.Rev))
		}
		if rev == 0 {
			d.snap0 = true
		}
	default:
		return corrupt(key, errors.New("unknown record kind"))
	}
	if _, _, ok := s.cost([]entry{{key: key, value: value}}); !ok {
		return fmt.Errorf("%s: %w", describeKey(key), ErrTooBig)
	}
	d.ents = append(d.ents, entry{key: key, value: value})
	return nil
}

// restoreChunk writes d's queued records, in as many transactions as they
// need. The metadata is not written: the records are not a document yet.
func (s *Store) restoreChunk(ctx context.Context, d *restoreDoc) error {
	for len(d.ents) > 0 {
		var count, size int64
		n := 0
		for ; n < len(d.ents); n++ {
			c, sz, _ := s.cost(d.ents[n : n+1])
			if n > 0 && !s.fits(count+c, size+sz) {
				break
			}
			count, size = count+c, size+sz
		}
		ents := d.ents[:n:n]
		err := s.submit(ctx, &request{ops: -1, apply: func(*wtxn) (*change, error) {
			return &change{ents: ents, id: d.meta.ID, forget: true}, nil
		}})
		if err != nil {
			return fmt.Errorf("restore %s: %w", d.meta.ID, err)
		}
		d.ents = d.ents[n:]
	}
	d.ents = nil
	return nil
}

// restoreDoc writes the rest of d's records, checks that its log is whole,
// and writes its metadata with a new epoch.
func (s *Store) restoreDoc(ctx context.Context, d *restoreDoc) error {
	id := d.meta.ID
	if d.nextOp != d.meta.Rev+1 {
		return corruptf("op %q@%d is missing", id, d.nextOp)
	}
	if !d.snap0 {
		return corruptf("no snapshot of %q at revision 0", id)
	}
	if err := s.restoreChunk(ctx, d); err != nil {
		return err
	}
	m := d.meta
	m.Epoch = rand.Text()
	mb, err := encodeMeta(m)
	if err != nil {
		return fmt.Errorf("restore %s: encode meta: %w", id, err)
	}
	err = s.submit(ctx, &request{ops: -1, apply: func(*wtxn) (*change, error) {
		return &change{ents: []entry{{key: metaKey(id), value: mb}}, id: id, forget: true}, nil
	}})
	if err != nil {
		return fmt.Errorf("restore %s: %w", id, err)
	}
	return nil
}

// BackupSummary describes a backup that VerifyBackup read whole.
type BackupSummary struct {
	Version int       // of the format
	Taken   time.Time // when the backup began
	Docs    int64     // documents
	Records int64     // their records, metadata not included
	Revoked int64     // revoked users and sessions
}

// VerifyBackup reads a backup to its end without restoring it, and fails
// with an error wrapping ErrBackupFormat unless it is whole: the header of
// a version Restore reads, every frame intact (its checksum) and in its
// place, the counts of the end frame equal to what came before it, and
// nothing after that, and each revocation readable. It does not decode
// the documents' records: Restore checks each as it writes it. A backup that passes was not truncated or
// damaged on its way from Backup.
func VerifyBackup(r io.Reader) (BackupSummary, error) {
	fr, err := openBackup(r)
	if err != nil {
		return BackupSummary{}, err
	}
	for {
		f, err := fr.read()
		if err != nil {
			return fr.sum, err
		}
		if err := fr.count(f); err != nil {
			return fr.sum, err
		}
		if f.Kind == "e" {
			return fr.sum, nil
		}
	}
}
