package core

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/store"
)

// meta is a copy of a record's fixed part kept in the container's
// directory, so that a lost or corrupt store can be rebuilt.
type meta struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	OwnerUID   uint32          `json:"owner_uid"`
	HookSet    string          `json:"hook_set,omitempty"`
	CreatedAt  time.Time       `json:"created_at"`
	AutoRemove bool            `json:"auto_remove,omitempty"`
	TimeoutNS  int64           `json:"timeout_ns,omitempty"`
	Spec       json.RawMessage `json:"spec"`
}

// writeMeta stores c's fixed part (secret data stripped) durably at path.
func writeMeta(path string, c *store.Container) error {
	spec, err := protojson.Marshal(store.StripSecrets(c.Spec))
	if err != nil {
		return err
	}
	data, err := json.Marshal(meta{
		ID: c.ID, Name: c.Name, OwnerUID: c.OwnerUID, HookSet: c.HookSet, CreatedAt: c.CreatedAt,
		AutoRemove: c.AutoRemove, TimeoutNS: int64(c.Timeout), Spec: spec,
	})
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write meta: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write meta: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write meta: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// readMeta rebuilds the fixed part of a record from path.
func readMeta(path string) (*store.Container, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m meta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	spec := &nucleusv1.ContainerSpec{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(m.Spec, spec); err != nil {
		return nil, fmt.Errorf("decode spec in %s: %w", path, err)
	}
	return &store.Container{
		ID: m.ID, Name: m.Name, OwnerUID: m.OwnerUID, HookSet: m.HookSet, CreatedAt: m.CreatedAt,
		AutoRemove: m.AutoRemove, Timeout: time.Duration(m.TimeoutNS), Spec: spec, Labels: spec.GetLabels(),
		RunscID: m.ID,
	}, nil
}
