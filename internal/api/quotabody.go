package api

// Reading quota and quota-limit bodies as Quay's JSON Schema reads them,
// with every number bounded before big-number arithmetic.

import (
	"bytes"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strings"

	"github.com/wharf-registry/wharf/internal/quota"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// decodeObject reads a JSON object body with decodeJSON's checks (media
// type, size, one object) and returns every key with its raw value.
func decodeObject(r *http.Request) (map[string]json.RawMessage, error) {
	var raw bytes.Buffer
	r.Body = io.NopCloser(io.TeeReader(r.Body, &raw))
	if err := decodeJSON(r, &struct{}{}); err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw.Bytes(), &fields); err != nil {
		return nil, jsonError(err)
	}
	return fields, nil
}

// jsonInteger reads a JSON integer as JSON Schema defines one: any number
// with no fractional part (5.0 and 1e3 are integers; "5", true and 5.5 are
// not). The value may exceed int64 (callers bound it), but not by so much
// that building it would cost (see boundedInteger).
func jsonInteger(raw json.RawMessage, field string) (*big.Int, error) {
	if jsonKind(raw) != "number" {
		return nil, wharf.Errorf(wharf.Invalid, "Invalid value for field '%s': expected integer, got %s", field, jsonKind(raw))
	}
	s := string(bytes.TrimSpace(raw))
	if !boundedInteger(s) {
		return nil, wharf.Errorf(wharf.Invalid, "Invalid value for field '%s': number out of range", field)
	}
	if n, ok := new(big.Int).SetString(s, 10); ok {
		return n, nil
	}
	f, _, err := big.ParseFloat(s, 10, 1024, big.ToNearestEven)
	if err != nil || !f.IsInt() {
		return nil, wharf.Errorf(wharf.Invalid, "Invalid value for field '%s': expected integer, got number", field)
	}
	n, _ := f.Int(nil)
	return n, nil
}

// jsonString reads a JSON string.
func jsonString(raw json.RawMessage, field string) (string, error) {
	var s string
	if jsonKind(raw) != "string" || json.Unmarshal(raw, &s) != nil {
		return "", wharf.Errorf(wharf.Invalid, "Invalid value for field '%s': expected string, got %s", field, jsonKind(raw))
	}
	return s, nil
}

// quotaBytes reads the size of a quota body: Quay's oneOf of
// {"limit_bytes": <integer>} and {"limit": "<size>"} (§2.8–2.15). On a
// change (PUT) each alternative is a closed object and {} is a third one,
// meaning "no change" (0 is returned, as for "limit_bytes": 0, which Quay
// also ignores); on a create other keys are ignored and exactly one of the
// two is required.
func quotaBytes(fields map[string]json.RawMessage, change bool) (int64, error) {
	if change {
		var extra []string
		for k := range fields {
			if k != "limit_bytes" && k != "limit" {
				extra = append(extra, k)
			}
		}
		if len(extra) > 0 {
			slices.Sort(extra)
			return 0, wharf.Errorf(wharf.Invalid, "Additional properties are not allowed ('%s' was unexpected)", strings.Join(extra, "', '"))
		}
	}
	rawBytes, hasBytes := fields["limit_bytes"]
	rawLimit, hasLimit := fields["limit"]
	switch {
	case hasBytes && hasLimit:
		return 0, wharf.Errorf(wharf.Invalid, "Send either 'limit_bytes' or 'limit', not both")
	case hasBytes:
		n, err := jsonInteger(rawBytes, "limit_bytes")
		if err != nil {
			return 0, err
		}
		if n.Sign() < 0 || (n.Sign() == 0 && !change) {
			return 0, wharf.Errorf(wharf.Invalid, "Invalid quota size limit value: '%s'", n)
		}
		if !n.IsInt64() {
			return 0, wharf.Errorf(wharf.Invalid, "Unsupported quota size limit.")
		}
		return n.Int64(), nil
	case hasLimit:
		s, err := jsonString(rawLimit, "limit")
		if err != nil {
			return 0, err
		}
		n, err := quota.ParseLimit(s)
		if err != nil {
			return 0, err
		}
		if n == 0 && !change {
			return 0, wharf.Errorf(wharf.Invalid, "Invalid quota size limit value: '0'")
		}
		return n, nil
	case change:
		return 0, nil
	}
	return 0, wharf.Errorf(wharf.Invalid, "'limit_bytes' (an integer) or 'limit' (a size such as \"10 GiB\") is required")
}

// limitFields reads a quota limit body: "type" (Warning or Reject, any
// case) and "threshold_percent" (1–100); required says both must be there.
func limitFields(fields map[string]json.RawMessage, required bool) (kind *string, percent *int64, err error) {
	if raw, ok := fields["type"]; ok {
		s, err := jsonString(raw, "type")
		if err != nil {
			return nil, nil, err
		}
		kind = &s
	} else if required {
		return nil, nil, wharf.Errorf(wharf.Invalid, "'type' is a required property")
	}
	if raw, ok := fields["threshold_percent"]; ok {
		n, err := jsonInteger(raw, "threshold_percent")
		if err != nil {
			return nil, nil, err
		}
		if !n.IsInt64() {
			return nil, nil, quota.ValidatePercent(0)
		}
		p := n.Int64()
		percent = &p
	} else if required {
		return nil, nil, wharf.Errorf(wharf.Invalid, "'threshold_percent' is a required property")
	}
	return kind, percent, nil
}

// Shared operations.
