package app

import (
	"strings"

	"github.com/spf13/pflag"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

// ImageOptions are the flags of run and create that apply to a container
// run from an image.
type ImageOptions struct {
	Entrypoint entrypointFlag // --entrypoint CMD ('' for none): spec.entrypoint / clear_entrypoint
	Pull       string         // --pull missing|always|never: spec.pull_policy
	Disk       string         // --disk 1g: spec.resources.disk_bytes
}

func addImageFlags(fs *pflag.FlagSet, o *ImageOptions) {
	fs.Var(&o.Entrypoint, "entrypoint", "with an IMAGE: the command that replaces the image's ENTRYPOINT (and CMD); '' runs the given command with no entrypoint")
	fs.StringVar(&o.Pull, "pull", "", "with an IMAGE: pull it missing (default), always or never")
	fs.StringVar(&o.Disk, "disk", "", "with an IMAGE: size of the container's writable layer, e.g. 512m (default: nucleusd's); it lives in the sandbox's memory")
}

// imageArg splits docker's `IMAGE [COMMAND [ARG...]]`: a first argument
// that starts with "/" (a command on the default root, as before images
// existed) or any argument with --rootfs is a command, not an image.
func imageArg(args []string, rootfs string) (string, []string) {
	if rootfs != "" || len(args) == 0 || strings.HasPrefix(args[0], "/") {
		return "", args
	}
	return args[0], args[1:]
}

// entrypointFlag is --entrypoint: a string that remembers being set, so
// that ” (no entrypoint) differs from leaving the flag out.
type entrypointFlag struct {
	value string
	set   bool
}

func (f *entrypointFlag) String() string { return f.value }
func (f *entrypointFlag) Type() string   { return "string" }
func (f *entrypointFlag) Set(v string) error {
	f.value, f.set = v, true
	return nil
}

// apply puts the image and its flags into spec; user is -u, resolved by
// nucleusd in the image.
func (o *ImageOptions) apply(spec *nucleusv1.ContainerSpec, image, user string) error {
	spec.Image = image
	spec.ImageUser = user
	if o.Entrypoint.set {
		if o.Entrypoint.value == "" {
			spec.ClearEntrypoint = true
		} else {
			spec.Entrypoint = []string{o.Entrypoint.value}
		}
	}
	switch o.Pull {
	case "", "missing":
	case "always":
		spec.PullPolicy = nucleusv1.PullPolicy_PULL_POLICY_ALWAYS
	case "never":
		spec.PullPolicy = nucleusv1.PullPolicy_PULL_POLICY_NEVER
	default:
		return errdefs.InvalidArgument("--pull %q: want missing, always or never", o.Pull)
	}
	if spec.PullPolicy == 0 && o.Pull == "missing" {
		spec.PullPolicy = nucleusv1.PullPolicy_PULL_POLICY_MISSING
	}
	if o.Disk != "" {
		n, err := client.ParseSize(o.Disk)
		if err != nil {
			return err
		}
		spec.Resources.DiskBytes = n
	}
	return nil
}

// checkUnused refuses the image flags without an image.
func (o *ImageOptions) checkUnused() error {
	if o.Entrypoint.set || o.Pull != "" || o.Disk != "" {
		return errdefs.InvalidArgument("--entrypoint, --pull and --disk need an IMAGE: run [flags] IMAGE [COMMAND [ARG...]]")
	}
	return nil
}
