package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestEveryFieldDocumented walks Config and every type it contains: each
// field needs a toml key and a doc tag, so Reference documents every key.
func TestEveryFieldDocumented(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type, string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Map || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			key := f.Tag.Get("toml")
			if key == "" || strings.ToLower(key) != key {
				t.Errorf("%s.%s: missing or non-snake_case toml tag %q", path, f.Name, key)
			}
			if strings.TrimSpace(f.Tag.Get("doc")) == "" {
				t.Errorf("%s.%s (%s): missing doc tag", path, f.Name, key)
			}
			walk(f.Type, path+"."+key)
		}
	}
	walk(reflect.TypeFor[Config](), "config")
}

// TestReferenceParsesToDefault checks that the rendered reference is valid
// TOML, passes the unknown-key check, and decodes to exactly Default().
func TestReferenceParsesToDefault(t *testing.T) {
	ref := Reference()
	cfg, err := Parse([]byte(ref))
	if err != nil {
		t.Fatalf("Parse(Reference()) = %v\n%s", err, ref)
	}
	want := Default()
	// Empty lists render as [] and decode as empty, not nil, slices.
	normalise := func(c *Config) {
		for _, s := range []*[]string{&c.Runsc.ExtraFlags, &c.Security.AllowedHostPaths, &c.Hooks.TrustedDirs, &c.Images.AllowedRegistries, &c.Images.Insecure} {
			if len(*s) == 0 {
				*s = nil
			}
		}
	}
	normalise(cfg)
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("Parse(Reference()) = %+v, want %+v", cfg, want)
	}
	for _, key := range []string{"[api]", "socket_group =", "[[hooks.sets.<name>.poststop]]", "events_retained ="} {
		if !strings.Contains(ref, key) {
			t.Errorf("Reference() lacks %q", key)
		}
	}
}
