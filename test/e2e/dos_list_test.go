package e2e

import (
	"strings"
	"sync"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// TestE2EDoSListPages: containers whose args add up to more than the
// client's receive limit (20 × 250 KiB = 5 MiB; 4 MiB used to be the limit
// and List was one message) list completely, through the SDK and
// `nucleusctl ps -a`, in pages of at most 1 MiB.
func TestE2EDoSListPages(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 2*time.Minute)
	const n = 20
	big := strings.Repeat("a", 125<<10) // one argument is at most 128 KiB
	var wg sync.WaitGroup
	errc := make(chan error, n)
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%4 != 0 {
				<-time.After(time.Duration(i%4) * 50 * time.Millisecond)
			}
			spec := &nucleusv1.ContainerSpec{Args: []string{"/bin/true", big, big}}
			if _, err := c.Create(ctx, spec); err != nil {
				errc <- err
			}
		}()
		if i%4 == 3 {
			wg.Wait()
		}
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d containers with 250 KiB of args created in %v", n, time.Since(start))
	start = time.Now()
	all, err := c.List(ctx, &nucleusv1.ListRequest{})
	if err != nil || len(all) != n {
		t.Fatalf("SDK list: %d containers, %v; want %d", len(all), err, n)
	}
	t.Logf("SDK List of %d containers (%d MiB of args) in %v", n, n*250>>10, time.Since(start))
	page, err := c.API().List(ctx, &nucleusv1.ListRequest{View: nucleusv1.ListView_LIST_VIEW_SUMMARY})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.GetContainers()) >= n || page.GetNextPageToken() == "" {
		t.Fatalf("first page: %d containers, token %q; want a partial page of at most 1 MiB", len(page.GetContainers()), page.GetNextPageToken())
	}
	start = time.Now()
	out, stderr, code := d.CtlRun("", "ps", "-a", "-q")
	if code != 0 || len(strings.Fields(out)) != n {
		t.Fatalf("nucleusctl ps -a: exit %d, %d ids, stderr %s", code, len(strings.Fields(out)), stderr)
	}
	t.Logf("nucleusctl ps -a -q in %v", time.Since(start))
}
