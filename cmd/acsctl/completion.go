package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/acsbridge/acsbridge/internal/providers"
)

// completion prints a completion script for bash or zsh.
func (a *app) completion(args []string) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		return errHelp
	}
	if len(args) != 1 {
		return usagef("completion: want bash or zsh")
	}
	var script string
	switch args[0] {
	case "bash":
		script = bashCompletion(completionSpec())
	case "zsh":
		script = zshCompletion(completionSpec())
	default:
		return usagef("completion: unknown shell %q; want bash or zsh", args[0])
	}
	_, err := io.WriteString(a.stdout, script)
	return err
}

// compSpec is what the completion scripts complete, read from the
// command table and the flag sets so that it cannot fall behind them.
type compSpec struct {
	globalFlags []string
	commands    []string // top-level, then "providers" is added for help
	// flags maps a command ("ping", "wiegand encode") to its flags.
	flags map[string][]string
	// valueFlags are the flags, of any command, that take a value.
	valueFlags []string
	providers  []string
	formats    []string
}

// completionSpec gathers the words to complete.
func completionSpec() compSpec {
	s := compSpec{flags: map[string][]string{}, providers: providers.Names(), formats: formatNames}
	add := func(fs *flagSet) []string {
		var out []string
		for _, f := range fs.flags() {
			out = append(out, "--"+f.Name)
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); (!ok || !b.IsBoolFlag()) && !slices.Contains(s.valueFlags, f.Name) {
				s.valueFlags = append(s.valueFlags, f.Name)
			}
		}
		return out
	}
	s.globalFlags = append(add(globalFlags(&globals{})), "-o", "--help")
	s.valueFlags = append(s.valueFlags, "o")
	for _, c := range commands {
		top, _, _ := strings.Cut(c.name, " ")
		if !slices.Contains(s.commands, top) {
			s.commands = append(s.commands, top)
		}
		if c.flags != nil {
			s.flags[c.name] = append(add(c.flags()), "--help")
		}
	}
	return s
}

// pattern is a shell case pattern matching each flag with one or two dashes.
func (s compSpec) pattern(names []string) string {
	var alts []string
	for _, n := range names {
		alts = append(alts, "--"+n, "-"+n)
	}
	return strings.Join(alts, "|")
}

// valueCases are the case branches completing a flag's value: providers,
// output formats, card formats, files; nothing for the others.
func (s compSpec) valueCases(list func(words []string) string, files string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "    (%s) %s ;;\n", s.pattern([]string{"provider"}), list(s.providers))
	fmt.Fprintf(&b, "    (-o|%s) %s ;;\n", s.pattern([]string{"output"}), list([]string{"text", "json"}))
	fmt.Fprintf(&b, "    (%s) %s ;;\n", s.pattern([]string{"format"}), list(s.formats))
	fmt.Fprintf(&b, "    (%s) %s ;;\n", s.pattern([]string{"ca-file"}), files)
	var other []string
	for _, n := range s.valueFlags {
		if n != "provider" && n != "output" && n != "o" && n != "format" && n != "ca-file" {
			other = append(other, n)
		}
	}
	fmt.Fprintf(&b, "    (%s) %s ;;\n", s.pattern(other), list(nil))
	return b.String()
}

// commandCases are the case branches completing a command's words, given
// the command $cmd and its first argument $sub.
func (s compSpec) commandCases(set func(words []string) string) string {
	var b strings.Builder
	for _, c := range s.commands {
		switch c {
		case "wiegand":
			fmt.Fprintf(&b, "    (wiegand) case \"$sub\" in\n      ('') %s ;;\n      (encode) %s ;;\n      (decode) %s ;;\n    esac ;;\n",
				set([]string{"encode", "decode"}), set(s.flags["wiegand encode"]), set(s.flags["wiegand decode"]))
		case "simulate":
			fmt.Fprintf(&b, "    (simulate) if [[ -z \"$sub\" ]]; then %s; else %s; fi ;;\n", set(s.providers), set(s.flags["simulate"]))
		case "completion":
			fmt.Fprintf(&b, "    (completion) if [[ -z \"$sub\" ]]; then %s; fi ;;\n", set([]string{"bash", "zsh"}))
		case "help":
			fmt.Fprintf(&b, "    (help) if [[ -z \"$sub\" ]]; then %s; fi ;;\n", set(append(slices.Clone(s.commands), "providers")))
		default:
			fmt.Fprintf(&b, "    (%s) %s ;;\n", c, set(s.flags[c]))
		}
	}
	return b.String()
}

// bashCompletion is the bash script: `source <(acsctl completion bash)`.
func bashCompletion(s compSpec) string {
	list := func(words []string) string {
		return fmt.Sprintf("COMPREPLY=($(compgen -W %q -- \"$cur\")); return 0", strings.Join(words, " "))
	}
	set := func(words []string) string { return fmt.Sprintf("words=%q", strings.Join(words, " ")) }
	return `# bash completion for acsctl.
# Load it with: source <(acsctl completion bash)
# or install it: acsctl completion bash > /etc/bash_completion.d/acsctl
_acsctl() {
  local cur="${COMP_WORDS[COMP_CWORD]}" prev="" i w cmd="" sub="" words=""
  if (( COMP_CWORD > 0 )); then prev="${COMP_WORDS[COMP_CWORD-1]}"; fi
  # "--flag=value" arrives as three words: --flag, =, value.
  if [[ "$prev" == "=" ]] && (( COMP_CWORD > 1 )); then prev="${COMP_WORDS[COMP_CWORD-2]}"; fi
  if [[ "$cur" == "=" ]]; then cur=""; fi
  case "$prev" in
` + s.valueCases(list, `COMPREPLY=($(compgen -f -- "$cur")); return 0`) + `  esac
  for (( i = 1; i < COMP_CWORD; i++ )); do
    w="${COMP_WORDS[i]}"
    case "$w" in
    (=) i=$((i + 1)) ;;
    (` + s.pattern(s.valueFlags) + `) if [[ "${COMP_WORDS[i+1]}" != "=" ]]; then i=$((i + 1)); fi ;;
    (-*) ;;
    (*) if [[ -z "$cmd" ]]; then cmd="$w"; elif [[ -z "$sub" ]]; then sub="$w"; fi ;;
    esac
  done
  case "$cmd" in
    ('') if [[ "$cur" == -* ]]; then ` + set(s.globalFlags) + `; else ` + set(s.commands) + `; fi ;;
` + s.commandCases(set) + `  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
  return 0
}
complete -F _acsctl acsctl
`
}

// zshCompletion is the zsh script: `source <(acsctl completion zsh)`, or
// the file _acsctl in a directory of $fpath.
func zshCompletion(s compSpec) string {
	list := func(words []string) string {
		if len(words) == 0 {
			return "return 0"
		}
		return "compadd -- " + strings.Join(words, " ") + "; return 0"
	}
	set := func(words []string) string { return "cands=(" + strings.Join(words, " ") + ")" }
	return `#compdef acsctl
# zsh completion for acsctl.
# Load it with: source <(acsctl completion zsh)
# or install it: acsctl completion zsh > "${fpath[1]}/_acsctl"
_acsctl() {
  local cur="${words[CURRENT]}" prev="${words[CURRENT-1]}" i w cmd="" sub=""
  local -a cands
  case "$prev" in
` + s.valueCases(list, `_files; return 0`) + `  esac
  for (( i = 2; i < CURRENT; i++ )); do
    w="${words[i]}"
    case "$w" in
    (` + s.pattern(s.valueFlags) + `) i=$((i + 1)) ;;
    (-*) ;;
    (*) if [[ -z "$cmd" ]]; then cmd="$w"; elif [[ -z "$sub" ]]; then sub="$w"; fi ;;
    esac
  done
  case "$cmd" in
    ('') if [[ "$cur" == -* ]]; then ` + set(s.globalFlags) + `; else ` + set(s.commands) + `; fi ;;
` + s.commandCases(set) + `  esac
  compadd -- "${cands[@]}"
}
if [[ "${funcstack[1]}" == "_acsctl" ]]; then
  _acsctl "$@"
else
  compdef _acsctl acsctl
fi
`
}
