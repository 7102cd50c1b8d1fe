package ot

// Text in Go is UTF-8; positions and lengths in a Delta are UTF-16 code
// units, as in JavaScript. These helpers convert between the two without
// decoding runes: a character takes one UTF-16 unit, or two when it is
// outside the Basic Multilingual Plane, which in UTF-8 is exactly when its
// leading byte is 0xF0 or above.

// UTF16Len returns the length of s in UTF-16 code units, the unit of every
// length and position in a Delta. s must be valid UTF-8.
func UTF16Len(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 {
			n++
		} else if c >= 0xF0 {
			n += 2
		} else if c >= 0xC0 {
			n++
		}
	}
	return n
}

// UTF16Offset returns the byte offset in s of the position units, counted in
// UTF-16 code units. It reports false when the position falls inside a
// surrogate pair. A position past the end returns len(s), true.
func UTF16Offset(s string, units int) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c&0xC0 == 0x80 {
			continue // a continuation byte is never a boundary
		}
		if n >= units {
			return i, n == units
		}
		if c >= 0xF0 {
			n += 2
		} else {
			n++
		}
	}
	return len(s), n <= units
}
