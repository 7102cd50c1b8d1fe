package trace

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The traces are megabytes of JSON holding hundreds of thousands of small
// arrays; encoding/json reads them ten times slower than this reader, which
// knows the one shape they have and skips any other key.

var errSyntax = errors.New("trace: malformed JSON")

// A parser reads JSON from a buffer.
type parser struct {
	b []byte
	i int
}

func (p *parser) fail(what string) error {
	return fmt.Errorf("%w: %s at byte %d", errSyntax, what, p.i)
}

// ws skips white space and reports the next byte, or 0 at the end.
func (p *parser) ws() byte {
	for p.i < len(p.b) {
		switch c := p.b[p.i]; c {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return c
		}
	}
	return 0
}

// eat consumes byte c after white space.
func (p *parser) eat(c byte) error {
	if p.ws() != c {
		return p.fail(fmt.Sprintf("want %q", c))
	}
	p.i++
	return nil
}

// object reads an object, calling field for each key with the parser at
// its value.
func (p *parser) object(field func(key string) error) error {
	return p.list('{', '}', func() error {
		key, err := p.str()
		if err != nil {
			return err
		}
		if err := p.eat(':'); err != nil {
			return err
		}
		return field(key)
	})
}

// array reads an array, calling elem with the parser at each element.
func (p *parser) array(elem func() error) error { return p.list('[', ']', elem) }

// list reads the comma-separated items of an object or an array, from
// open to end, calling item at each.
func (p *parser) list(open, end byte, item func() error) error {
	if err := p.eat(open); err != nil {
		return err
	}
	if p.ws() == end {
		p.i++
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		switch p.ws() {
		case ',':
			p.i++
		case end:
			p.i++
			return nil
		default:
			return p.fail(fmt.Sprintf("want , or %c", end))
		}
	}
}

// int reads a whole number that fits an int.
func (p *parser) int() (int, error) {
	p.ws()
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	n, err := strconv.Atoi(string(p.b[start:p.i]))
	if err != nil {
		return 0, p.fail("want a whole number")
	}
	return n, nil
}

// str reads a string. Invalid UTF-8 is an error; a lone surrogate escape
// becomes U+FFFD, as encoding/json does.
func (p *parser) str() (string, error) {
	if err := p.eat('"'); err != nil {
		return "", err
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			p.i++
			if !utf8.Valid(s) {
				return "", p.fail("invalid UTF-8")
			}
			return string(s), nil
		}
		if c == '\\' {
			return p.escaped(start)
		}
		if c < 0x20 {
			return "", p.fail("control character in string")
		}
		p.i++
	}
	return "", p.fail("unterminated string")
}

// escaped finishes reading a string with escapes that began at start.
func (p *parser) escaped(start int) (string, error) {
	out := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			if !utf8.Valid(out) {
				return "", p.fail("invalid UTF-8")
			}
			return string(out), nil
		case c < 0x20:
			return "", p.fail("control character in string")
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			break
		}
		e := p.b[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.fail("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					if r2, ok = p.hex4(); !ok {
						return "", p.fail("bad \\u escape")
					}
					if utf16.DecodeRune(r, r2) == utf8.RuneError {
						p.i, r2 = save, -1
					}
				}
				if r2 < 0 {
					r = utf8.RuneError
				} else {
					r = utf16.DecodeRune(r, r2)
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", p.fail("bad escape")
		}
	}
	return "", p.fail("unterminated string")
}

// hex4 reads four hex digits.
func (p *parser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(n), true
}

// skip reads any value and drops it.
func (p *parser) skip() error {
	switch c := p.ws(); {
	case c == '{':
		return p.object(func(string) error { return p.skip() })
	case c == '[':
		return p.array(p.skip)
	case c == '"':
		_, err := p.str()
		return err
	case c == '-' || c >= '0' && c <= '9':
		start := p.i
		for p.i < len(p.b) && (p.b[p.i] == '-' || p.b[p.i] == '+' || p.b[p.i] == '.' ||
			p.b[p.i] == 'e' || p.b[p.i] == 'E' || p.b[p.i] >= '0' && p.b[p.i] <= '9') {
			p.i++
		}
		if _, err := strconv.ParseFloat(string(p.b[start:p.i]), 64); err != nil {
			return p.fail("bad number")
		}
		return nil
	}
	for _, lit := range []string{"true", "false", "null"} {
		if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
			p.i += len(lit)
			return nil
		}
	}
	return p.fail("want a value")
}

// parseTrace reads a whole trace.
func parseTrace(b []byte) (*Trace, error) {
	p := &parser{b: b}
	var t Trace
	err := p.object(func(key string) error {
		var err error
		switch key {
		case "kind":
			t.Kind, err = p.str()
		case "startContent":
			t.StartContent, err = p.str()
		case "endContent":
			t.EndContent, err = p.str()
		case "numAgents":
			t.NumAgents, err = p.int()
		case "txns":
			err = p.array(func() error {
				var txn Txn
				if err := p.txn(&txn); err != nil {
					return err
				}
				t.Txns = append(t.Txns, txn)
				return nil
			})
		default:
			err = p.skip()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if p.ws() != 0 {
		return nil, p.fail("data after the trace")
	}
	return &t, nil
}

// txn reads one transaction.
func (p *parser) txn(txn *Txn) error {
	return p.object(func(key string) error {
		var err error
		switch key {
		case "time":
			if p.ws() == '"' {
				txn.Time, err = p.str()
			} else {
				err = p.skip()
			}
		case "agent":
			txn.Agent, err = p.int()
		case "numChildren":
			txn.NumChildren, err = p.int()
		case "parents":
			txn.Parents = []int{}
			err = p.array(func() error {
				n, err := p.int()
				txn.Parents = append(txn.Parents, n)
				return err
			})
		case "patches":
			err = p.array(func() error {
				var pa Patch
				if err := p.patch(&pa); err != nil {
					return err
				}
				txn.Patches = append(txn.Patches, pa)
				return nil
			})
		default:
			err = p.skip()
		}
		return err
	})
}

// patch reads [pos, del, "ins"].
func (p *parser) patch(pa *Patch) error {
	if err := p.eat('['); err != nil {
		return err
	}
	var err error
	if pa.Pos, err = p.int(); err != nil {
		return err
	}
	if err := p.eat(','); err != nil {
		return err
	}
	if pa.Del, err = p.int(); err != nil {
		return err
	}
	if err := p.eat(','); err != nil {
		return err
	}
	if pa.Ins, err = p.str(); err != nil {
		return err
	}
	if pa.Pos < 0 || pa.Del < 0 {
		return p.fail("negative position or count")
	}
	return p.eat(']')
}
