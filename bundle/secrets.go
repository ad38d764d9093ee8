package bundle

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/errdefs"
)

// DefaultSecretMode is the mode of a secret file without an explicit one.
const DefaultSecretMode os.FileMode = 0o400

var secretName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)

// stagedSecret is a secret as written to the secrets tmpfs.
type stagedSecret struct {
	Name string
	Data []byte
	Mode os.FileMode
}

// secretMounts validates req.Secrets and returns their read-only bind
// mounts from paths.SecretsDir, plus what Create stages there.
func secretMounts(req *Request, pol *Policy, paths Paths) ([]userMount, []stagedSecret, error) {
	if len(req.Secrets) == 0 {
		return nil, nil, nil
	}
	if len(req.Secrets) > pol.MaxSecrets {
		return nil, nil, errdefs.InvalidArgument("%d secrets; at most %d are allowed", len(req.Secrets), pol.MaxSecrets)
	}
	if !filepath.IsAbs(paths.SecretsDir) {
		return nil, nil, errdefs.FailedPrecondition("secrets need an absolute secrets directory; the daemon passed %q", paths.SecretsDir)
	}
	var mounts []userMount
	var staged []stagedSecret
	names := map[string]bool{}
	var pages int64
	for i, s := range req.Secrets {
		what := fmt.Sprintf("secrets[%d]", i)
		if !secretName.MatchString(s.Name) {
			return nil, nil, errdefs.InvalidArgument("%s name %.80q is invalid: use letters, digits, '_', '.' and '-', starting with a letter or digit (at most 64)", what, s.Name)
		}
		if names[s.Name] {
			return nil, nil, errdefs.InvalidArgument("%s name %q is used twice; secret names must be unique", what, s.Name)
		}
		names[s.Name] = true
		if len(s.Data) > pol.MaxSecretBytes {
			return nil, nil, errdefs.InvalidArgument("secret %q is %d bytes; at most %d are allowed", s.Name, len(s.Data), pol.MaxSecretBytes)
		}
		pages += (int64(len(s.Data)) + 4095) / 4096
		mode := s.Mode
		if mode == 0 {
			mode = DefaultSecretMode
		}
		if mode&^os.ModePerm != 0 {
			return nil, nil, errdefs.InvalidArgument("secret %q mode %#o is invalid; use permission bits only (e.g. 0400)", s.Name, uint32(s.Mode))
		}
		dst := path.Join(SecretsMountDir, s.Name)
		if s.Destination != "" {
			var err error
			if dst, err = cleanDestination(what+".destination", s.Destination); err != nil {
				return nil, nil, err
			}
		}
		m := specs.Mount{Destination: dst, Type: "bind", Source: filepath.Join(paths.SecretsDir, s.Name), Options: slices.Clone(secretBindOptions)}
		mounts = append(mounts, userMount{what: what, mount: m})
		staged = append(staged, stagedSecret{Name: s.Name, Data: s.Data, Mode: mode})
	}
	if pages*4096 > pol.SecretsSizeBytes {
		return nil, nil, errdefs.InvalidArgument("secrets need %d bytes of tmpfs pages; at most %d are allowed in total", pages*4096, pol.SecretsSizeBytes)
	}
	return mounts, staged, nil
}
