package message

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// FuzzFieldsValidate: whatever a client sends as a message, Validate
// answers without panicking, refuses only with Invalid, and what it
// accepts is storable text (UTF-8, no NUL, within MaxContentBytes) with a
// media type and severity from Quay's enums.
func FuzzFieldsValidate(f *testing.F) {
	f.Add("# Title\n<script>alert(1)</script>", "text/markdown", "info")
	f.Add("plain", "text/plain", "error")
	f.Add("a\x00b", "text/plain", "warning")
	f.Add("\xff\xfe", "text/markdown", "info")
	f.Add("", "text/html", "critical")
	f.Add(strings.Repeat("x", MaxContentBytes+1), "text/plain", "info")
	f.Fuzz(func(t *testing.T, content, mediaType, severity string) {
		err := Fields{Content: content, MediaType: mediaType, Severity: severity}.Validate()
		if err != nil {
			if !wharf.IsCode(err, wharf.Invalid) {
				t.Fatalf("refused with %v, want Invalid", err)
			}
			return
		}
		if !utf8.ValidString(content) || strings.ContainsRune(content, 0) || len(content) > MaxContentBytes {
			t.Fatalf("accepted content %q", content)
		}
		if !slices.Contains(mediaTypes, mediaType) || !slices.Contains(severities, severity) {
			t.Fatalf("accepted media_type %q severity %q", mediaType, severity)
		}
	})
}
