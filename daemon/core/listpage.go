package core

import (
	"encoding/base64"
	"strings"
	"time"

	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
)

// List pages: sizes by count and by encoded bytes, so that a page stays far
// below the 16 MiB message limit whatever the containers carry.
const (
	DefaultPageSize = 500
	MaxPageSize     = 1000
	MaxPageBytes    = 1 << 20
)

// pagePos is where a page ended, in List's order (creation time, then id).
// A token holds only this position, never a container of another caller
// or a filter: a forged one just starts the caller's own list elsewhere.
type pagePos struct {
	created time.Time
	id      string
}

// before reports whether c comes after the position.
func (p pagePos) before(c *store.Container) bool {
	if !c.CreatedAt.Equal(p.created) {
		return p.created.Before(c.CreatedAt)
	}
	return p.id < c.ID
}

const pageTokenPrefix = "p1."

func pageTokenAfter(c *store.Container) string {
	raw := c.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + c.ID
	return pageTokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func parsePageToken(tok string) (pagePos, error) {
	bad := errdefs.InvalidArgument("page_token %.40q is not a token this daemon issued: pass next_page_token from the previous page", tok)
	rest, ok := strings.CutPrefix(tok, pageTokenPrefix)
	if !ok || len(rest) > 128 {
		return pagePos{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return pagePos{}, bad
	}
	ts, id, ok := strings.Cut(string(raw), "|")
	created, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil {
		return pagePos{}, bad
	}
	return pagePos{created: created, id: id}, nil
}
