package config

import (
	"bytes"
	"encoding"
	"fmt"
	"reflect"
	"strings"

	"github.com/BurntSushi/toml"
)

// Reference renders the default configuration as a TOML file: every key with
// its doc comment and default value. Keys under maps of tables (hook sets)
// are shown as a commented-out template. `nucleusd config default` prints
// it, and the result parses back to Default().
func Reference() string {
	var b strings.Builder
	b.WriteString("# nucleusd configuration (" + DefaultPath + ").\n")
	b.WriteString("# Every key is shown with its default; unknown keys are errors.\n\n")
	writeTable(&b, "", reflect.ValueOf(Default()).Elem(), "")
	return b.String()
}

// writeTable renders v's scalar keys, then its sub-tables. comment is "" or
// "# " for a commented-out template.
func writeTable(b *strings.Builder, prefix string, v reflect.Value, comment string) {
	t := v.Type()
	var tables []int
	for i := range t.NumField() {
		f := t.Field(i)
		if isTable(f.Type) {
			tables = append(tables, i)
			continue
		}
		writeDoc(b, f)
		fmt.Fprintf(b, "%s%s\n", comment, encodeKey(f.Tag.Get("toml"), v.Field(i)))
	}
	for _, i := range tables {
		f := t.Field(i)
		key := joinKey(prefix, f.Tag.Get("toml"))
		b.WriteString("\n")
		writeDoc(b, f)
		switch f.Type.Kind() {
		case reflect.Struct:
			fmt.Fprintf(b, "%s[%s]\n", comment, key)
			writeTable(b, key, v.Field(i), comment)
		case reflect.Map:
			key += ".<name>"
			fmt.Fprintf(b, "# [%s]\n", key)
			writeTable(b, key, reflect.New(f.Type.Elem()).Elem(), "# ")
		case reflect.Slice:
			fmt.Fprintf(b, "# [[%s]]\n", key)
			writeTable(b, key, reflect.New(f.Type.Elem()).Elem(), "# ")
		}
	}
}

// isTable reports whether a field of type t renders as a TOML table (or an
// array of tables) rather than a key = value line.
func isTable(t reflect.Type) bool {
	if t.Implements(reflect.TypeFor[encoding.TextMarshaler]()) {
		return false
	}
	switch t.Kind() {
	case reflect.Struct:
		return true
	case reflect.Map, reflect.Slice:
		return t.Elem().Kind() == reflect.Struct
	}
	return false
}

func writeDoc(b *strings.Builder, f reflect.StructField) {
	fmt.Fprintf(b, "# %s\n", f.Tag.Get("doc"))
}

func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// encodeKey renders `key = value` with the TOML encoder, so strings, sizes
// and durations are quoted and escaped as TOML wants.
func encodeKey(key string, v reflect.Value) string {
	val := v.Interface()
	if v.Kind() == reflect.Slice && v.IsNil() {
		val = reflect.MakeSlice(v.Type(), 0, 0).Interface()
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(map[string]any{key: val}); err != nil {
		// Every field type here is encodable; a failure is a programming error.
		panic(fmt.Sprintf("config: encoding %s: %v", key, err))
	}
	return strings.TrimSpace(buf.String())
}
