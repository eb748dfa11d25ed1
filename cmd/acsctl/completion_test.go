package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The bash script is valid bash and completes commands, flags and their
// values; the zsh script is valid zsh when zsh is installed.
func TestCompletion(t *testing.T) {
	dir := t.TempDir()
	for _, shell := range []string{"bash", "zsh"} {
		r := runIn(t, "completion", shell)
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "_acsctl") {
			t.Fatalf("completion %s: exit %d stderr %q", shell, r.code, r.stderr)
		}
		file := filepath.Join(dir, "acsctl."+shell)
		if err := os.WriteFile(file, []byte(r.stdout), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := exec.LookPath(shell); err != nil {
			t.Logf("%s is not installed: its script is not checked", shell)
			continue
		}
		if out, err := exec.Command(shell, "-n", file).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s", shell, err, out)
		}
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	script := filepath.Join(dir, "acsctl.bash")
	for _, c := range []struct {
		line string // the words typed; the last is completed
		want string // COMPREPLY
	}{
		{"acsctl pro", "provision"},
		{"acsctl ", "ping sync provision revoke wiegand simulate completion help"},
		{"acsctl --prov", "--provider"},
		{"acsctl --provider b", "brivo"},
		{"acsctl --provider = ve", "verkada"}, // --provider=ve, as bash splits it
		{"acsctl -o j", "json"},
		{"acsctl --url https://acs.example.com pi", "ping"}, // a flag's value is not the command
		{"acsctl --insecure-skip-verify s", "sync simulate"},
		{"acsctl provision --acc", "--access-level"},
		{"acsctl provision --format h1030", "h10301 h10306 h10302 h10304"},
		{"acsctl revoke --c", "--credential-id --cardholder-id"},
		{"acsctl wiegand e", "encode"},
		{"acsctl wiegand decode --h", "--hex --help"},
		{"acsctl simulate n", "netbox"},
		{"acsctl simulate brivo --", "--addr --outlive-parent --help"},
		{"acsctl completion ", "bash zsh"},
		{"acsctl help pro", "provision providers"},
	} {
		words := strings.Split(c.line, " ")
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+w+"'")
		}
		prog := "source " + script + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "\n_acsctl\necho \"${COMPREPLY[*]}\"\n"
		out, err := exec.Command("bash", "--norc", "--noprofile", "-c", prog).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != c.want {
			t.Errorf("%q: completed %q (%v), want %q", c.line, strings.TrimSpace(string(out)), err, c.want)
		}
	}
}

// The zsh function offers the candidates for the word being completed
// (zsh itself keeps those matching the prefix). compadd, compdef and
// _files are stubbed, since they exist only inside zsh's completion system.
func TestZshCompletion(t *testing.T) {
	if _, err := exec.LookPath("zsh"); err != nil {
		t.Skip("zsh is not installed")
	}
	file := filepath.Join(t.TempDir(), "acsctl.zsh")
	if err := os.WriteFile(file, []byte(runIn(t, "completion", "zsh").stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ line, want string }{
		{"acsctl --provider b", "genetec lenel brivo alta verkada netbox"},
		{"acsctl ", "ping sync provision revoke wiegand simulate completion help"},
		{"acsctl --url https://acs.example.com p", "ping sync provision revoke wiegand simulate completion help"},
		{"acsctl --ca-file ", "FILES"},
		{"acsctl wiegand decode --h", "--format --hex --bits --help"},
		{"acsctl simulate ", "genetec lenel brivo alta verkada netbox"},
		{"acsctl revoke --", "--credential-id --cardholder-id --help"},
	} {
		words := strings.Split(c.line, " ")
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+w+"'")
		}
		prog := "compdef() { :; }\ncompadd() { [[ $1 == -- ]] && shift; print -r -- \"$*\"; }\n_files() { print FILES; }\n" +
			"source " + file + "\nwords=(" + strings.Join(quoted, " ") + ")\nCURRENT=" + strconv.Itoa(len(words)) + "\n_acsctl\n"
		out, err := exec.Command("zsh", "-f", "-c", prog).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != c.want {
			t.Errorf("%q: offered %q (%v), want %q", c.line, strings.TrimSpace(string(out)), err, c.want)
		}
	}
}
