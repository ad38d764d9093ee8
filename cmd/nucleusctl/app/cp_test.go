package app

import "testing"

func TestSplitContainerPath(t *testing.T) {
	for _, tc := range []struct {
		arg, container, path string
		ok                   bool
	}{
		{"web:/tmp/a", "web", "/tmp/a", true},
		{"web:tmp", "web", "/tmp", true},
		{"./a:b", "", "./a:b", false},
		{"/x:y", "", "/x:y", false},
		{"-", "", "-", false},
		{":/x", "", ":/x", false},
		{"plain", "", "plain", false},
	} {
		c, p, ok := splitContainerPath(tc.arg)
		if c != tc.container || p != tc.path || ok != tc.ok {
			t.Errorf("splitContainerPath(%q) = %q, %q, %v; want %q, %q, %v", tc.arg, c, p, ok, tc.container, tc.path, tc.ok)
		}
	}
}

func TestRenameRoot(t *testing.T) {
	r := renameRoot("new")
	for in, want := range map[string]string{"tree/": "new/", "tree/a/b": "new/a/b", "./tree/a": "new/a", "file": "new"} {
		if got := r(in); got != want {
			t.Errorf("renameRoot(%q) = %q, want %q", in, got, want)
		}
	}
}
