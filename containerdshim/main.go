package containerdshim

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"nucleus.dev/nucleus/client"
)

// AddressEnv names nucleusd's address for the shim, as for nucleusctl.
const AddressEnv = "NUCLEUS_ADDRESS"

// flags are what containerd passes every shim invocation.
type flags struct {
	namespace  string
	id         string
	address    string // containerd's gRPC socket
	publishBin string
	bundle     string
	nucleusd   string
	debug      bool
	version    bool
	action     string // "start", "delete" or "" (serve)
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("containerd-shim-nucleus-v2", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.namespace, "namespace", "", "containerd namespace of the task")
	fs.StringVar(&f.id, "id", "", "id of the task")
	fs.StringVar(&f.address, "address", "", "containerd's gRPC socket")
	fs.StringVar(&f.publishBin, "publish-binary", "", "containerd's event publisher (unused: events go over ttrpc)")
	fs.StringVar(&f.bundle, "bundle", "", "the task's bundle (default: the working directory)")
	fs.StringVar(&f.nucleusd, "nucleusd", "", "nucleusd's address (default: $"+AddressEnv+", then "+client.DefaultAddress+")")
	fs.BoolVar(&f.debug, "debug", false, "log at debug level")
	fs.BoolVar(&f.version, "v", false, "print the version and exit")
	fs.String("socket", "", "ignored (containerd 1.x compatibility)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	f.action = fs.Arg(0) // containerd may append arguments after it; none are used
	if f.nucleusd == "" {
		f.nucleusd = os.Getenv(AddressEnv)
	}
	if f.nucleusd == "" {
		f.nucleusd = client.DefaultAddress
	}
	if f.bundle == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		f.bundle = wd
	}
	if !f.version && (f.namespace == "" || f.id == "") {
		return nil, fmt.Errorf("-namespace and -id are required")
	}
	return f, nil
}

// Main runs the shim binary: args are os.Args[1:]. It returns the process
// exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "containerd-shim-nucleus-v2:", err)
		return 2
	}
	if f.version {
		fmt.Fprintln(stdout, "containerd-shim-nucleus-v2 (runtime io.containerd.nucleus.v2, task API v2)")
		return 0
	}
	ctx := context.Background()
	switch f.action {
	case "start":
		err = start(ctx, f, stdout)
	case "delete":
		err = deleteAction(ctx, f, stdout)
	case "":
		err = serve(ctx, f)
	default:
		err = fmt.Errorf("unknown action %q (want start or delete)", f.action)
	}
	if err != nil {
		fmt.Fprintln(stderr, "containerd-shim-nucleus-v2:", strings.TrimSpace(err.Error()))
		return 1
	}
	return 0
}
