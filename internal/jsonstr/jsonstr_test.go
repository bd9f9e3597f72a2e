package jsonstr

import "testing"

// TestAppend covers where the two escapings differ and what they share;
// the callers' fuzz targets hold each to its reference encoder
// (api.FuzzAppendJSONString: encoding/json; requestlog.FuzzWriteRequest: slog).
func TestAppend(t *testing.T) {
	tests := []struct {
		in, encodingJSON, slog string
	}{
		{"plain", `"plain"`, `"plain"`},
		{`a"b\c`, `"a\"b\\c"`, `"a\"b\\c"`},
		{"<a&b>", `"\u003ca\u0026b\u003e"`, `"<a&b>"`},
		{"\b\f\n\r\t\x01", `"\b\f\n\r\t\u0001"`, `"\u0008\u000c\n\r\t\u0001"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`, `"bad\ufffdutf8"`},
		{"line\u2028para\u2029", `"line\u2028para\u2029"`, `"line\u2028para\u2029"`},
		{"héllo", `"héllo"`, `"héllo"`},
	}
	for _, tt := range tests {
		if got := string(Append(nil, tt.in, EncodingJSON)); got != tt.encodingJSON {
			t.Errorf("EncodingJSON %q = %s, want %s", tt.in, got, tt.encodingJSON)
		}
		if got := string(Append(nil, tt.in, Slog)); got != tt.slog {
			t.Errorf("Slog %q = %s, want %s", tt.in, got, tt.slog)
		}
	}
}
