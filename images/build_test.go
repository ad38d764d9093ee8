package images

import (
	"archive/tar"
	"os"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"

	"nucleus.dev/nucleus/images/imagestest"
)

// busyboxImage is a three-layer image: busybox and an /etc/passwd with a
// non-root user; then files, a symlink, a hardlink and a dir; then a
// whiteout and an opaque directory over them.
func busyboxImage(t testing.TB) v1.Image {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("this test needs Debian's busybox-static (/bin/busybox): %v", err)
	}
	base := []imagestest.Entry{imagestest.Dir("bin/"), {Name: "bin/busybox", Body: string(bb), Type: tar.TypeReg, Mode: 0o755},
		imagestest.Symlink("bin/sh", "busybox"), imagestest.Dir("etc/"),
		imagestest.File("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"),
		imagestest.File("etc/group", "root:x:0:\napp:x:1000:\nextra:x:2000:app\n"),
		{Name: "etc/shadow", Body: "root:*:1::::::\n", Type: tar.TypeReg, Mode: 0o600},
		imagestest.Dir("home/"), {Name: "home/app/", Type: tar.TypeDir, Mode: 0o750, UID: 1000, GID: 1000},
		imagestest.Dir("old/"), imagestest.File("old/a", "a"), imagestest.File("old/b", "b"), imagestest.File("gone", "x")}
	mid := []imagestest.Entry{imagestest.File("data/hello.txt", "hello\n"), imagestest.Hardlink("data/hello-link", "data/hello.txt"),
		imagestest.Symlink("data/abs", "/etc/passwd"), {Name: "bin/su", Body: "suid", Type: tar.TypeReg, Mode: 0o4755}}
	top := []imagestest.Entry{imagestest.File(".wh.gone", ""), imagestest.Dir("old/"), imagestest.File("old/.wh..wh..opq", ""), imagestest.File("old/c", "c")}
	return imagestest.Image(t, v1.Config{User: "app", Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"echo hi"},
		Env: []string{"PATH=/bin", "A=1"}, WorkingDir: "/home/app"},
		imagestest.Layer(t, base...), imagestest.Layer(t, mid...), imagestest.Layer(t, top...))
}

func v1Config() v1.Config { return v1.Config{Cmd: []string{"/bin/sh"}} }
