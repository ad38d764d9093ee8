package cpuprofile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOffWithoutTheVariable(t *testing.T) {
	t.Setenv(EnvVar, "")
	stop, err := Start("x")
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if Env() != nil {
		t.Errorf("Env %v with profiling off", Env())
	}
}

func TestWritesAProfilePerProcess(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvVar, dir)
	stop, err := Start("nucleusd")
	if err != nil {
		t.Fatal(err)
	}
	stop()
	files, _ := filepath.Glob(filepath.Join(dir, "nucleusd-*.pprof"))
	if len(files) != 1 {
		t.Fatalf("profiles %v", files)
	}
	if st, err := os.Stat(files[0]); err != nil || st.Size() == 0 || st.Mode().Perm() != 0o600 {
		t.Errorf("profile %v %v", st, err)
	}
	if e := Env(); len(e) != 1 || e[0] != EnvVar+"="+dir {
		t.Errorf("Env %v", e)
	}
}

func TestRelativeDirRefused(t *testing.T) {
	t.Setenv(EnvVar, "rel")
	if _, err := Start("x"); err == nil {
		t.Error("a relative directory was accepted")
	}
}
