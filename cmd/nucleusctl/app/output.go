package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Output formats.
const (
	outputTable = "table"
	outputJSON  = "json"
)

// marshal is the JSON form of API messages: proto field names, zero values
// included (an exit code of 0 is "exit_code": 0, not absent).
var marshal = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// addOutputFlag adds -o/--output table|json to cmd.
func addOutputFlag(cmd *cobra.Command, out *string, what string) {
	cmd.Flags().StringVarP(out, "output", "o", outputTable, "output format: table or json ("+what+")")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{outputTable, outputJSON}, cobra.ShellCompDirectiveNoFileComp))
}

// checkOutput validates an -o value.
func checkOutput(out string) error {
	if out != outputTable && out != outputJSON {
		return fmt.Errorf("invalid --output %q: want table or json", out)
	}
	return nil
}

// compactJSON marshals m on one line.
func compactJSON(m proto.Message) ([]byte, error) {
	b, err := marshal.Marshal(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeJSONLine writes m as one line of NDJSON.
func writeJSONLine(w io.Writer, m proto.Message) error {
	b, err := compactJSON(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeJSONArray writes msgs as one indented JSON array.
func writeJSONArray[M proto.Message](w io.Writer, msgs []M) error {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, m := range msgs {
		if i > 0 {
			buf.WriteByte(',')
		}
		b, err := compactJSON(m)
		if err != nil {
			return err
		}
		buf.Write(b)
	}
	buf.WriteByte(']')
	return writeIndented(w, buf.Bytes())
}

// writeIndented writes the JSON document b indented by two spaces.
func writeIndented(w io.Writer, b []byte) error {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}
