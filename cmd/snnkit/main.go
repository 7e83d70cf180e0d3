// Command snnkit trains ANNs on MNIST, converts them to spiking neural
// networks and simulates them. Run `snnkit help` for the commands.
package main

import (
	"os"

	"github.com/snnkit/snnkit/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
