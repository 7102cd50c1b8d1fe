package doc

// MaxIDLen is the longest document id.
const MaxIDLen = 128

// ValidID reports whether id is a document id: 1 to 128 characters of
// A-Z a-z 0-9 . _ -, not starting with a dot. Such an id never holds 0x00
// or a character a URL path must escape.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > MaxIDLen || id[0] == '.' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
