package app

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

func newCompletionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: `Print the completion script for bash, zsh or fish. Container arguments
complete with the names of your containers (asked from nucleusd).`,
		Example: `  nucleusctl completion bash > /etc/bash_completion.d/nucleusctl
  source <(nucleusctl completion bash)
  nucleusctl completion zsh > "${fpath[1]}/_nucleusctl"
  nucleusctl completion fish > ~/.config/fish/completions/nucleusctl.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      cobra.MatchAll(exactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			default:
				return root.GenFishCompletion(out, true)
			}
		},
	}
}

// completeContainers completes container names (described by their state),
// asking nucleusd briefly; no completion when it cannot be reached.
func (g *globals) completeContainers(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Second)
	defer cancel()
	c, err := g.dial(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer c.Close()
	ctrs, err := c.List(ctx, &nucleusv1.ListRequest{View: nucleusv1.ListView_LIST_VIEW_SUMMARY})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, ctr := range ctrs {
		if strings.HasPrefix(ctr.GetName(), toComplete) {
			out = append(out, cobra.CompletionWithDesc(ctr.GetName(), enumName(ctr.GetState().String(), "CONTAINER_STATE_")))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeFirstContainer completes a container name as the first argument
// only (exec, logs: what follows is not a container).
func (g *globals) completeFirstContainer(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveDefault
	}
	return g.completeContainers(cmd, args, toComplete)
}
