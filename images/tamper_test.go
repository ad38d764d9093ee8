package images

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"nucleus.dev/nucleus/images/imagestest"
	"nucleus.dev/nucleus/internal/errdefs"
)

func TestHostileDigestMismatch(t *testing.T) {
	reg := newTestRegistry(t)
	img := imagestest.Image(t, v1Config(), imagestest.Layer(t, imagestest.File("a", "a")), imagestest.Layer(t, imagestest.File("b", strings.Repeat("b", 4096))))
	ref := reg.push(t, "test/app:v1", img)
	layers, _ := img.Layers()
	d, _ := layers[1].Digest()
	size, _ := layers[1].Size()
	reg.tamper[d.String()] = func(w http.ResponseWriter) {
		w.Header().Set("Content-Length", fmt.Sprint(size))
		w.Write(bytes.Repeat([]byte{0x1f}, int(size))) // same length, other bytes
	}
	s, root := openStore(t, testPolicy(reg))
	_, err := s.Pull(context.Background(), ref, root0, nil)
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("pull of a layer that does not match its digest = %v, want InvalidArgument", err)
	}
	if recs, _ := s.List(); len(recs) != 0 {
		t.Errorf("a refused image is listed: %v", recs)
	}
	assertEmptyStore(t, root)
}

func TestHostileTenThousandLayers(t *testing.T) {
	reg := newTestRegistry(t)
	ref := reg.push(t, "test/app:v1", imagestest.Image(t, v1Config(), imagestest.Layer(t, imagestest.File("a", "a"))))
	// Rewrite the manifest to list 10,000 layers (that do not exist).
	manifest := map[string]any{
		"schemaVersion": 2, "mediaType": string(types.OCIManifestSchema1),
		"config": map[string]any{"mediaType": string(types.OCIConfigJSON), "size": 2, "digest": imagestest.Digest([]byte("{}"))},
	}
	var layers []map[string]any
	for i := range 10_000 {
		layers = append(layers, map[string]any{"mediaType": string(types.OCILayer), "size": 1 << 20, "digest": imagestest.Digest(fmt.Appendf(nil, "%d", i))})
	}
	manifest["layers"] = layers
	b, _ := json.Marshal(manifest)
	req, _ := http.NewRequest(http.MethodPut, "http://"+reg.host+"/v2/test/big/manifests/v1", bytes.NewReader(b))
	req.Header.Set("Content-Type", string(types.OCIManifestSchema1))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("put manifest: %v %v", resp, err)
	}
	resp.Body.Close()
	_ = ref
	s, root := openStore(t, testPolicy(reg))
	_, err = s.Pull(context.Background(), reg.host+"/test/big:v1", root0, nil)
	if !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Fatalf("pull of a 10,000-layer manifest = %v, want ResourceExhausted", err)
	}
	if n := reg.totalGets(); n != 0 {
		t.Errorf("%d blobs were downloaded before the layer count was refused", n)
	}
	assertEmptyStore(t, root)
}

func TestHostileTruncatedGzip(t *testing.T) {
	reg := newTestRegistry(t)
	blob := imagestest.Gzip(t, imagestest.Tar(t, imagestest.File("a", strings.Repeat("data", 10_000))))
	truncated := static.NewLayer(blob[:len(blob)/2], types.DockerLayer)
	ref := reg.push(t, "test/app:v1", imagestest.Image(t, v1Config(), truncated))
	s, root := openStore(t, testPolicy(reg))
	_, err := s.Pull(context.Background(), ref, root0, nil)
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("pull of a truncated gzip layer = %v, want InvalidArgument", err)
	}
	assertEmptyStore(t, root)
}
