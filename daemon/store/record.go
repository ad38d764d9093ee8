package store

import (
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// record is Container's persisted form: JSON, with the spec as protojson
// and the state by enum name, so the file stays readable and stable.
type record struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	OwnerUID     uint32            `json:"owner_uid"`
	State        string            `json:"state"`
	Spec         json.RawMessage   `json:"spec,omitempty"`
	HookSet      string            `json:"hook_set,omitempty"`
	CreatedAt    time.Time         `json:"created_at"`
	StartedAt    time.Time         `json:"started_at"`
	FinishedAt   time.Time         `json:"finished_at"`
	Exit         *Exit             `json:"exit,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	BundleDir    string            `json:"bundle_dir,omitempty"`
	RunscID      string            `json:"runsc_id,omitempty"`
	RunscVersion string            `json:"runsc_version,omitempty"`
	Pid          int               `json:"pid,omitempty"`
	CreateStep   CreateStep        `json:"create_step,omitempty"`
	AutoRemove   bool              `json:"auto_remove,omitempty"`
	TimeoutNS    int64             `json:"timeout_ns,omitempty"`
	Warnings     []string          `json:"warnings,omitempty"`
	PoststopDone bool              `json:"poststop_done,omitempty"`
	RestoredFrom string            `json:"restored_from,omitempty"`
	IPAddress    string            `json:"ip_address,omitempty"`
}

func encodeContainer(c *Container) ([]byte, error) {
	r := record{
		ID: c.ID, Name: c.Name, OwnerUID: c.OwnerUID, State: c.State.String(), HookSet: c.HookSet,
		CreatedAt: c.CreatedAt, StartedAt: c.StartedAt, FinishedAt: c.FinishedAt, Exit: c.Exit,
		Labels: c.Labels, BundleDir: c.BundleDir, RunscID: c.RunscID, RunscVersion: c.RunscVersion,
		Pid: c.Pid, CreateStep: c.CreateStep, AutoRemove: c.AutoRemove, TimeoutNS: int64(c.Timeout),
		Warnings: c.Warnings, PoststopDone: c.PoststopDone, RestoredFrom: c.RestoredFrom, IPAddress: c.IPAddress,
	}
	if c.Spec != nil {
		spec, err := protojson.Marshal(StripSecrets(c.Spec))
		if err != nil {
			return nil, fmt.Errorf("encoding spec: %w", err)
		}
		r.Spec = spec
	}
	return json.Marshal(&r)
}

func decodeContainer(data []byte) (*Container, error) {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decoding record: %w", err)
	}
	state, ok := nucleusv1.ContainerState_value[r.State]
	if !ok {
		return nil, fmt.Errorf("unknown state %q", r.State)
	}
	c := &Container{
		ID: r.ID, Name: r.Name, OwnerUID: r.OwnerUID, State: nucleusv1.ContainerState(state), HookSet: r.HookSet,
		CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Exit: r.Exit,
		Labels: r.Labels, BundleDir: r.BundleDir, RunscID: r.RunscID, RunscVersion: r.RunscVersion,
		Pid: r.Pid, CreateStep: r.CreateStep, AutoRemove: r.AutoRemove, Timeout: time.Duration(r.TimeoutNS),
		Warnings: r.Warnings, PoststopDone: r.PoststopDone, RestoredFrom: r.RestoredFrom, IPAddress: r.IPAddress,
	}
	if len(r.Spec) > 0 {
		c.Spec = &nucleusv1.ContainerSpec{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(r.Spec, c.Spec); err != nil {
			return nil, fmt.Errorf("decoding spec: %w", err)
		}
	}
	return c, nil
}

// StripSecrets returns a copy of spec without secret data (names,
// destinations and modes stay). The store never persists secret data.
func StripSecrets(spec *nucleusv1.ContainerSpec) *nucleusv1.ContainerSpec {
	out := proto.CloneOf(spec)
	for _, s := range out.GetSecrets() {
		s.Data = nil
	}
	return out
}
