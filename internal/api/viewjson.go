package api

import (
	"strconv"

	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/jsonstr"
)

// jsonAppender is a view that writes its own JSON, exactly as
// encoding/json would write it. The superuser users page holds a hundred
// user views, and reflecting over each was a sixth of the page's cost;
// writeJSON uses appendJSON where a view has it.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

func (p *userPage) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if p.NextPage != "" {
		b = appendJSONString(append(b, `"next_page":`...), p.NextPage)
		b = append(b, ',')
	}
	b = append(b, `"users":`...)
	if p.Users == nil {
		return append(b, "null}"...)
	}
	b = append(b, '[')
	for i, u := range p.Users {
		if i > 0 {
			b = append(b, ',')
		}
		b = u.appendJSON(b)
	}
	return append(b, "]}"...)
}

func (v *superUserView) appendJSON(b []byte) []byte {
	b = appendAvatar(append(b, `{"avatar":`...), &v.Avatar)
	b = append(b, `,"email":`...)
	if v.Email == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, *v.Email)
	}
	b = strconv.AppendBool(append(b, `,"enabled":`...), v.Enabled)
	if v.EncryptedPassword != "" {
		b = appendJSONString(append(b, `,"encrypted_password":`...), v.EncryptedPassword)
	}
	b = strconv.AppendBool(append(b, `,"global_readonly_super_user":`...), v.GlobalReadonlySuperUser)
	b = appendJSONString(append(b, `,"kind":`...), v.Kind)
	b = appendJSONString(append(b, `,"name":`...), v.Name)
	if v.QuotaReport != nil {
		b = v.QuotaReport.appendJSON(append(b, `,"quota_report":`...))
	}
	if v.Quotas != nil {
		b = append(b, `,"quotas":`...)
		b = appendQuotas(b, *v.Quotas)
	}
	b = strconv.AppendBool(append(b, `,"super_user":`...), v.SuperUser)
	b = appendJSONString(append(b, `,"username":`...), v.Username)
	b = strconv.AppendBool(append(b, `,"verified":`...), v.Verified)
	return append(b, '}')
}

func appendAvatar(b []byte, a *identity.Avatar) []byte {
	b = appendJSONString(append(b, `{"name":`...), a.Name)
	b = appendJSONString(append(b, `,"hash":`...), a.Hash)
	b = appendJSONString(append(b, `,"color":`...), a.Color)
	b = appendJSONString(append(b, `,"kind":`...), a.Kind)
	return append(b, '}')
}

func (r *quotaReport) appendJSON(b []byte) []byte {
	b = appendJSONString(append(b, `{"backfill_status":`...), r.BackfillStatus)
	b = append(b, `,"configured_quota":`...)
	if r.ConfiguredQuota == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, *r.ConfiguredQuota, 10)
	}
	b = strconv.AppendInt(append(b, `,"quota_bytes":`...), r.QuotaBytes, 10)
	b = appendJSONString(append(b, `,"running_backfill":`...), r.RunningBackfill)
	return append(b, '}')
}

func appendQuotas(b []byte, qs []quotaShort) []byte {
	if qs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, q := range qs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(append(b, `{"id":`...), q.ID, 10)
		b = strconv.AppendInt(append(b, `,"limit_bytes":`...), q.LimitBytes, 10)
		b = append(b, `,"limits":`...)
		if q.Limits == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for j, l := range q.Limits {
				if j > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendInt(append(b, `{"id":`...), l.ID, 10)
				b = strconv.AppendInt(append(b, `,"limit_percent":`...), l.LimitPercent, 10)
				b = appendJSONString(append(b, `,"type":`...), l.Type)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendJSONString appends s quoted as encoding/json writes it.
func appendJSONString(b []byte, s string) []byte { return jsonstr.Append(b, s, jsonstr.EncodingJSON) }
