package config

import (
	"strings"
	"testing"
)

func TestImagesConfigRefusals(t *testing.T) {
	for _, tc := range []struct{ toml, key string }{
		{"[images]\nallowed_registries = [\"https://reg\"]\n", "images.allowed_registries"},
		{"[images]\ninsecure_registries = [\"reg/path\"]\n", "images.insecure_registries"},
		{"[images]\nmax_layers = 0\n", "images.max_layers"},
		{"[images]\npull_timeout = \"0s\"\n", "images.pull_timeout"},
		{"[images]\nauth_file = \"rel/auth.json\"\n", "images.auth_file"},
		{"[[images.mirrors]]\nregistry = \"docker.io\"\nendpoints = [\"http://m\"]\n", "images.mirrors.endpoints"},
		{"[defaults]\ndisk = \"2g\"\n[limits]\nmax_disk = \"1g\"\n", "defaults.disk"},
	} {
		cfg, err := Parse([]byte("version = 1\n" + tc.toml))
		if err == nil {
			err = cfg.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%q: %v, want an error naming %s", tc.toml, err, tc.key)
		}
	}
	cfg, err := Parse([]byte("version = 1\n[images]\nallowed_registries = [\"docker.io\", \"127.0.0.1:5000\"]\n[[images.mirrors]]\nregistry = \"docker.io\"\nendpoints = [\"m1:5000\", \"m2\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if m := cfg.Images.MirrorMap(); len(m["docker.io"]) != 2 {
		t.Errorf("MirrorMap = %v", m)
	}
}
