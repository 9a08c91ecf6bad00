package lexicons

import (
	"errors"
	"strings"
	"testing"
)

func nested(levels int) string {
	return strings.Repeat("[", levels) + strings.Repeat("]", levels)
}

func TestCheckJSON(t *testing.T) {
	cases := []struct {
		name string
		raw  string
		want error // nil: passes
	}{
		{"plain object", `{"a":"b","c":[1,2,{"d":null}]}`, nil},
		{"non-ASCII text", `{"title":"Hoppípolla","artist":"Sigur Rós","emoji":"🎵"}`, nil},
		{"U+FFFD written as itself", "{\"a\":\"\xef\xbf\xbd\"}", nil},
		{"escapes", `{"a":"\"\\\/\b\f\n\r\t\u00e9\u2028"}`, nil},
		{"paired surrogates", `{"a":"\ud83c\udfb5"}`, nil},
		{"upper-case hex pair", `{"a":"\uD83C\uDFB5"}`, nil},
		{"brackets inside strings are not nesting", `{"a":"` + strings.Repeat("[{", 100) + `"}`, nil},
		{"escaped quote does not end a string", `{"a":"\"[[[[","b":1}`, nil},
		{"32 levels", `{"a":` + nested(31) + `}`, nil},
		{"33 levels", `{"a":` + nested(32) + `}`, ErrTooDeep},
		{"10,000 levels", `{"a":` + nested(9999) + `}`, ErrTooDeep},
		{"deep objects", strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40), ErrTooDeep},
		{"invalid byte in value", "{\"a\":\"\xff\"}", ErrInvalidUTF8},
		{"invalid byte in key", "{\"\xc3\x28\":1}", ErrInvalidUTF8},
		{"truncated sequence", "{\"a\":\"\xe2\x82\"}", ErrInvalidUTF8},
		{"overlong slash", "{\"a\":\"\xc0\xaf\"}", ErrInvalidUTF8},
		{"UTF-8-encoded surrogate", "{\"a\":\"\xed\xa0\x80\"}", ErrInvalidUTF8},
		{"lone high surrogate", `{"a":"\ud800"}`, ErrInvalidUTF8},
		{"lone high surrogate at end", `{"a":"x\ud800`, ErrInvalidUTF8},
		{"high surrogate then a letter", `{"a":"\ud800\u0041"}`, ErrInvalidUTF8},
		{"lone low surrogate", `{"a":"\udc00"}`, ErrInvalidUTF8},
		{"reversed pair", `{"a":"\udfb5\ud83c"}`, ErrInvalidUTF8},
		// Not JSON: left to the decoder, which says so.
		{"unterminated string", `{"a":"abc`, nil},
		{"bad escape", `{"a":"\uZZZZ"}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckJSON([]byte(tc.raw))
			if tc.want == nil && err != nil {
				t.Fatalf("want pass, got %v", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
		})
	}
}

// TestValidateRecordDataModel: what CheckJSON refuses, ValidateRecord
// refuses with the same error, in records that are otherwise valid.
func TestValidateRecordDataModel(t *testing.T) {
	cases := []struct {
		name   string
		record string
		want   error
	}{
		{"valid", firstVersion + `,"extra":{"x":[1]}}`, nil},
		{"deep unknown field", firstVersion + `,"extra":` + nested(9997) + `}`, ErrTooDeep},
		{"invalid UTF-8 title", strings.Replace(firstVersion, "Hoppípolla", "Hopp\xedpolla", 1) + `}`, ErrInvalidUTF8},
		{"escaped surrogate in an unknown field", firstVersion + `,"extra":"\udead"}`, ErrInvalidUTF8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ValidateRecord("app.relay.track", []byte(tc.record))
			if tc.want == nil && err != nil {
				t.Fatalf("want valid, got %v", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
		})
	}
}

func BenchmarkCheckJSONDeep(b *testing.B) {
	raw := []byte(`{"a":` + nested(10000) + `}`)
	for b.Loop() {
		if CheckJSON(raw) == nil {
			b.Fatal("passed")
		}
	}
}
