package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// decodeJSON reads the request body into dst, a per-endpoint type whose
// fields are the only ones the endpoint accepts values for (so a privilege
// field cannot ride along on an unrelated endpoint). Unknown keys are
// ignored, as Quay's open schemas do. Every failure is a client error that
// names what is wrong.
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
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return wharf.Errorf(wharf.Invalid, "Missing JSON body")
	}
	if trimmed[0] != '{' {
		return wharf.Errorf(wharf.Invalid, "The request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return wharf.Errorf(wharf.Invalid, "Invalid JSON body: unexpected data after the JSON object")
	}
	return nil
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

// queryBool parses a boolean query parameter as Quay does (Python-style
// True/False accepted); absent = def.
func queryBool(r *http.Request, name string, def bool) (bool, error) {
	if !r.URL.Query().Has(name) {
		return def, nil
	}
	switch strings.ToLower(r.URL.Query().Get(name)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off", "", "null":
		return false, nil
	}
	return false, wharf.Errorf(wharf.Invalid, "Invalid value for query parameter '%s': expected a boolean", name)
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
