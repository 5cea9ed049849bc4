package home

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// CLI is a daemon's command line habits, cosmos/cometbft's: a persistent
// --home flag, every flag also settable from the environment with the
// daemon's prefix (--grpc-addr from $NYM_NODE_GRPC_ADDR; --home from
// $NYM_NODE_HOME), and --output text|json on the commands that print.
type CLI struct {
	// EnvPrefix starts the daemon's environment variables: NYM_NODE.
	EnvPrefix string
	// Name is the daemon's name, its default home ~/.<Name>: nym-node.
	Name string
}

// Root sets root's persistent --home flag, has every command take the
// flags it was not given from the environment, and checks --output.
func (c CLI) Root(root *cobra.Command) {
	root.PersistentFlags().String("home", "", fmt.Sprintf("the home directory (default $%s_HOME, else ~/.%s)", c.EnvPrefix, c.Name))
	prev := root.PersistentPreRunE
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if err := c.fromEnv(cmd.Flags()); err != nil {
			return err
		}
		// Refused before the command does anything it would then not
		// report.
		if f := cmd.Flags().Lookup("output"); f != nil && f.Value.String() != "text" && f.Value.String() != "json" {
			return fmt.Errorf("--output %q is not text or json", f.Value.String())
		}
		if prev != nil {
			return prev(cmd, args)
		}
		return nil
	}
}

// EnvName is the environment variable of flag name: NYM_NODE_GRPC_ADDR for
// grpc-addr.
func (c CLI) EnvName(flag string) string {
	return c.EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// fromEnv sets each flag not given on the command line (deprecated
// aliases aside) from its environment variable, if set.
func (c CLI) fromEnv(fs *pflag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) {
		given[f.Name] = true
		for _, a := range f.Annotations[aliasOf] {
			given[a] = true
		}
	})
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || given[f.Name] || f.Deprecated != "" || f.Name == "help" {
			return
		}
		if v, ok := os.LookupEnv(c.EnvName(f.Name)); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("$%s: %w", c.EnvName(f.Name), serr)
			}
		}
	})
	return err
}

// Home is cmd's home directory: --home (or its environment variable),
// else ~/.<Name>.
func (c CLI) Home(cmd *cobra.Command) (string, error) {
	flag, _ := cmd.Flags().GetString("home")
	return Dir(flag, c.EnvPrefix, c.Name)
}

// GRPCFlag adds --grpc-addr (nyxd's gRPC endpoint) into p, and --grpc, its
// deprecated alias, which scripts written before it keep using.
func GRPCFlag(fs *pflag.FlagSet, p *string, def, usage string) {
	fs.StringVar(p, "grpc-addr", def, usage)
	fs.StringVar(p, "grpc", def, usage)
	_ = fs.MarkDeprecated("grpc", "use --grpc-addr")
	_ = fs.SetAnnotation("grpc", aliasOf, []string{"grpc-addr"})
}

// aliasOf annotates a deprecated flag with the flag it stands for: given,
// it keeps the environment from setting that one.
const aliasOf = "nyx_alias_of"

// OutputFlag adds --output (-o) text|json into p.
func OutputFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVarP(p, "output", "o", "text", "output format: text or json")
}

// Print writes v as JSON (indented, a field a line, as scripts read it)
// if output is "json", else text.
func Print(w io.Writer, output string, v any, text string) error {
	switch output {
	case "json":
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(v)
	case "text":
		_, err := io.WriteString(w, text)
		return err
	}
	return fmt.Errorf("--output %q is not text or json", output)
}
