package smolvm

import (
	"fmt"
	"strings"
)

// checkText refuses a string that holds a NUL byte before it reaches C,
// where it would end the string and the rest would vanish silently
// ("echo a\x00; rm x" would run "echo a"). names and values alternate.
// Byte data ([]byte: file contents, stdin) may hold any byte.
func checkText(op string, namesAndValues ...string) error {
	for i := 0; i+1 < len(namesAndValues); i += 2 {
		if strings.IndexByte(namesAndValues[i+1], 0) >= 0 {
			return &Error{Op: op, Status: StatusInvalid,
				Message: fmt.Sprintf("%s: must not contain NUL bytes (text ends at the first one)", namesAndValues[i])}
		}
	}
	return nil
}
