package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// decodeJSON reads the request body into dst, a per-endpoint struct whose
// fields are the only ones the endpoint accepts values for (so a privilege
// field cannot ride along on an unrelated endpoint). Keys must match the
// field names exactly, as Quay's JSON schemas do (encoding/json alone would
// match them case-insensitively); other keys are ignored, as Quay's open
// schemas do. Every failure is a client error that names what is wrong.
func decodeJSON(r *http.Request, dst any) error {
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return wharf.Errorf(wharf.UnsupportedMediaType, "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.")
	}
	body, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return wharf.Errorf(wharf.TooLarge, "Request body is larger than %d bytes", tooBig.Limit)
	}
	if err != nil {
		return wharf.Errorf(wharf.Invalid, "Could not read the request body")
	}
	trimmed := bytes.Trim(body, " \t\r\n")
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return wharf.Errorf(wharf.Invalid, "Missing JSON body")
	}
	if trimmed[0] != '{' {
		return wharf.Errorf(wharf.Invalid, "The request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return wharf.Errorf(wharf.Invalid, "Invalid JSON body: unexpected data after the JSON object")
	}
	known := jsonFieldNames(dst)
	for k := range fields {
		if !known[k] {
			delete(fields, k)
		}
	}
	exact, err := json.Marshal(fields)
	if err != nil {
		return wharf.Wrap(err, "re-encode request body")
	}
	if err := json.Unmarshal(exact, dst); err != nil {
		return jsonError(err)
	}
	return nil
}

// jsonFieldNames returns the JSON names of the fields of the struct dst points to.
func jsonFieldNames(dst any) map[string]bool {
	t := reflect.TypeOf(dst).Elem()
	names := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names[name] = true
		}
	}
	return names
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return wharf.Errorf(wharf.Invalid, "Invalid value for field '%s': expected %s, got %s", typeErr.Field, jsonTypeName(typeErr.Type.String()), typeErr.Value)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return wharf.Errorf(wharf.Invalid, "Invalid JSON body at offset %d: %s", syntaxErr.Offset, syntaxErr.Error())
	}
	return wharf.Errorf(wharf.Invalid, "Invalid JSON body: %s", err.Error())
}

func jsonTypeName(goType string) string {
	goType = strings.TrimPrefix(goType, "*")
	switch {
	case goType == "string":
		return "string"
	case goType == "bool":
		return "boolean"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "integer"
	case strings.HasPrefix(goType, "float"):
		return "number"
	case strings.HasPrefix(goType, "map"), strings.HasPrefix(goType, "struct"):
		return "object"
	default:
		return goType
	}
}

// required returns an Invalid error naming field when v is nil.
func required[T any](v *T, field string) error {
	if v == nil {
		return wharf.Errorf(wharf.Invalid, "'%s' is a required property", field)
	}
	return nil
}

// queryBool parses a boolean query parameter exactly as Quay's truthy_bool
// does: false, False, FALSE, 0, null and the empty string are false,
// anything else is true; absent = def.
func queryBool(r *http.Request, name string, def bool) bool {
	if !r.URL.Query().Has(name) {
		return def
	}
	switch r.URL.Query().Get(name) {
	case "false", "False", "FALSE", "0", "", "null":
		return false
	}
	return true
}

// pageLimit parses the limit parameter of a paginated list: absent = 0
// (no limit), else 1..100.
func pageLimit(r *http.Request) (int, error) {
	raw := r.URL.Query().Get("limit")
	if !r.URL.Query().Has("limit") {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, wharf.Errorf(wharf.Invalid, "Invalid value for query parameter 'limit': Limit to the number of results to return per page. Max 100.")
	}
	if n > 100 {
		return 0, wharf.Errorf(wharf.Invalid, "Page limit cannot be above 100")
	}
	if n < 1 {
		return 0, wharf.Errorf(wharf.Invalid, "Page limit must be at least 1")
	}
	return n, nil
}
