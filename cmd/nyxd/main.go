// Command nyxd is the Nyx chain daemon and its command-line client.
package main

import (
	"fmt"
	"os"

	svrcmd "github.com/cosmos/cosmos-sdk/server/cmd"

	"github.com/nyx-privacy/nyx/app"
	"github.com/nyx-privacy/nyx/cmd/nyxd/cmd"
)

func main() {
	if err := svrcmd.Execute(cmd.NewRootCmd(), "NYXD", app.DefaultNodeHome); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
