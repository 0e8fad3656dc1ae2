package main

import "github.com/spf13/cobra"

// locksCmd is `lockdav locks`: list, show and release lock documents on a running server.
func locksCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "locks",
		Short: "List, show and release locks on a running lockdav server",
	}
}
