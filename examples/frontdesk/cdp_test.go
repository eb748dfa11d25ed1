package main

// A small client of the Chrome DevTools Protocol over the browser's debugging
// pipe (--remote-debugging-pipe: commands in on file descriptor 3, answers
// and events out on 4, each a JSON message ended by a NUL byte), enough to
// drive headless Chromium through the front desk: tabs in separate browser
// contexts (separate cookie jars), navigation, JavaScript evaluation, key
// events as a keyboard wedge sends them, and screenshots.

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// chromiumPath finds Chromium: $CHROMIUM, or chromium, chromium-browser,
// google-chrome on the PATH.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

type cdpMessage struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// chrome is one headless Chromium process.
type chrome struct {
	cmd  *exec.Cmd
	in   *os.File // our end of the browser's fd 3
	dir  string   // the profile directory
	done chan struct{}

	mu      sync.Mutex
	next    int64
	waiting map[int64]chan cdpMessage
	errs    map[string][]string // JavaScript exceptions by session
	readErr error
}

// startChrome starts Chromium headless with a new profile directory.
func startChrome(path string) (*chrome, error) {
	dir, err := os.MkdirTemp("", "frontdesk-chromium-")
	if err != nil {
		return nil, err
	}
	cmdR, cmdW, err := os.Pipe() // we write commands; the browser reads fd 3
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe() // the browser writes fd 4; we read
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
		"--password-store=basic", "--use-mock-keychain", "--font-render-hinting=none",
		"--user-data-dir="+dir, "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{cmdR, outW}
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmdR.Close()
	outW.Close()
	c := &chrome{cmd: cmd, in: cmdW, dir: dir, done: make(chan struct{}),
		waiting: make(map[int64]chan cdpMessage), errs: make(map[string][]string)}
	go c.read(outR)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.call(ctx, "", "Browser.getVersion", nil); err != nil {
		c.close()
		return nil, fmt.Errorf("chromium did not answer: %w", err)
	}
	return c, nil
}

// read delivers answers to their callers and keeps JavaScript exceptions.
func (c *chrome) read(r *os.File) {
	defer close(c.done)
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			for id, ch := range c.waiting {
				close(ch)
				delete(c.waiting, id)
			}
			c.mu.Unlock()
			return
		}
		var m cdpMessage
		if json.Unmarshal(raw[:len(raw)-1], &m) != nil {
			continue
		}
		c.mu.Lock()
		if m.ID != 0 {
			if ch := c.waiting[m.ID]; ch != nil {
				ch <- m
				delete(c.waiting, m.ID)
			}
		} else if m.Method == "Runtime.exceptionThrown" {
			c.errs[m.SessionID] = append(c.errs[m.SessionID], string(m.Params))
		}
		c.mu.Unlock()
	}
}

// call sends a command (to the browser when session is "", else to the
// page attached as session) and waits for its answer.
func (c *chrome) call(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	if params == nil {
		params = struct{}{}
	}
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	ch := make(chan cdpMessage, 1)
	c.mu.Lock()
	if c.readErr != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("%s: browser gone: %w", method, c.readErr)
	}
	c.next++
	id := c.next
	c.waiting[id] = ch
	c.mu.Unlock()
	msg, _ := json.Marshal(cdpMessage{ID: id, Method: method, Params: p, SessionID: session})
	if _, err := c.in.Write(append(msg, 0)); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%s: browser gone", method)
		}
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		return m.Result, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// close ends the browser and removes its profile.
func (c *chrome) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = c.call(ctx, "", "Browser.close", nil)
	exited := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-exited
	}
	c.in.Close()
	os.RemoveAll(c.dir)
}

// tab is a page in a browser context of its own (its own cookies), as a
// second browser would be.
type tab struct {
	t         testing.TB
	c         *chrome
	session   string
	contextID string
}

const pageTimeout = 15 * time.Second

func (c *chrome) must(t testing.TB, session, method string, params any) json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pageTimeout)
	defer cancel()
	res, err := c.call(ctx, session, method, params)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// newTab opens a tab in a new browser context, disposed of at the end of
// the test.
func (c *chrome) newTab(t testing.TB) *tab {
	t.Helper()
	var bc struct {
		ID string `json:"browserContextId"`
	}
	if err := json.Unmarshal(c.must(t, "", "Target.createBrowserContext", map[string]any{"disposeOnDetach": true}), &bc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = c.call(ctx, "", "Target.disposeBrowserContext", map[string]any{"browserContextId": bc.ID})
	})
	return c.tabIn(t, bc.ID)
}

// tabIn opens another tab in an existing browser context (same cookies).
func (c *chrome) tabIn(t testing.TB, contextID string) *tab {
	t.Helper()
	var tg struct {
		ID string `json:"targetId"`
	}
	if err := json.Unmarshal(c.must(t, "", "Target.createTarget", map[string]any{"url": "about:blank", "browserContextId": contextID}), &tg); err != nil {
		t.Fatal(err)
	}
	var at struct {
		ID string `json:"sessionId"`
	}
	if err := json.Unmarshal(c.must(t, "", "Target.attachToTarget", map[string]any{"targetId": tg.ID, "flatten": true}), &at); err != nil {
		t.Fatal(err)
	}
	p := &tab{t: t, c: c, session: at.ID, contextID: contextID}
	c.must(t, p.session, "Page.enable", nil)
	c.must(t, p.session, "Runtime.enable", nil)
	c.must(t, p.session, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false})
	return p
}

// navigate loads url and waits until the new document has loaded.
func (p *tab) navigate(url string) {
	p.t.Helper()
	res := p.c.must(p.t, p.session, "Page.navigate", map[string]any{"url": url})
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	_ = json.Unmarshal(res, &nav)
	if nav.ErrorText != "" {
		p.t.Fatalf("navigate %s: %s", url, nav.ErrorText)
	}
	p.waitFor("the page loaded", `document.readyState === "complete"`)
}

// eval evaluates a JavaScript expression and decodes its value into out
// (which may be nil).
func (p *tab) evalErr(expr string, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), pageTimeout)
	defer cancel()
	res, err := p.c.call(ctx, p.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true})
	if err != nil {
		return err
	}
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return err
	}
	if r.Exception != nil {
		return fmt.Errorf("%s: %s %s", expr, r.Exception.Text, r.Exception.Exception.Description)
	}
	if out == nil || len(r.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

func (p *tab) eval(expr string, out any) {
	p.t.Helper()
	if err := p.evalErr(expr, out); err != nil {
		p.t.Fatal(err)
	}
}

// text returns the text of the first element matching a CSS selector ("" when none).
func (p *tab) text(selector string) string {
	p.t.Helper()
	var s string
	p.eval(fmt.Sprintf(`(document.querySelector(%s) || {innerText: ""}).innerText`, jsString(selector)), &s)
	return s
}

// waitFor polls a JavaScript condition until it holds, failing the test
// after pageTimeout with the page's text. Evaluation errors while a page
// is being replaced count as "not yet".
func (p *tab) waitFor(what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(pageTimeout)
	var last error
	for time.Now().Before(deadline) {
		var ok bool
		if last = p.evalErr("!!("+cond+")", &ok); last == nil && ok {
			return
		}
		time.Sleep(20 * time.Millisecond) // a polling interval, not a wait for a timer
	}
	var body, url string
	_ = p.evalErr(`document.body ? document.body.innerText : ""`, &body)
	_ = p.evalErr(`location.href`, &url)
	p.t.Fatalf("waiting for %s at %s: not after %s (last error %v)\npage:\n%s\nscript errors: %v", what, url, pageTimeout, last, body, p.scriptErrors())
}

// reloadUntil loads url again and again until a JavaScript condition
// holds on it, failing the test after pageTimeout: for what the server
// learns in the background (door events from the ACS).
func (p *tab) reloadUntil(url, what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(pageTimeout)
	for {
		p.navigate(url)
		var ok bool
		if p.evalErr("!!("+cond+")", &ok) == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var body string
			_ = p.evalErr(`document.body.innerText`, &body)
			p.t.Fatalf("waiting for %s at %s: not after %s\npage:\n%s", what, url, pageTimeout, body)
		}
		time.Sleep(50 * time.Millisecond) // a polling interval, not a wait for a timer
	}
}

// waitText waits until the element matching selector contains text.
func (p *tab) waitText(selector, text string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("%q in %s", text, selector),
		fmt.Sprintf(`Array.from(document.querySelectorAll(%s)).some(e => e.innerText.includes(%s))`, jsString(selector), jsString(text)))
}

// submit runs a JavaScript action that leaves the page (a click on a submit
// button, a link) and waits for the next document to load.
func (p *tab) submit(action string) {
	p.t.Helper()
	p.eval(`window.__frontdeskOld = true`, nil)
	p.eval(action, nil)
	p.waitFor("the next page", `!window.__frontdeskOld && document.readyState === "complete"`)
}

// click clicks the first element matching selector and waits for the page
// it leads to.
func (p *tab) click(selector string) {
	p.t.Helper()
	p.submit(fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) throw new Error("no element " + %s); e.click(); })()`, jsString(selector), jsString(selector)))
}

// fill sets form fields by CSS selector.
func (p *tab) fill(fields map[string]string) {
	p.t.Helper()
	for sel, v := range fields {
		p.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) throw new Error("no field " + %s); e.value = %s; })()`, jsString(sel), jsString(sel), jsString(v)), nil)
	}
}

// key sends one key press to the focused element, as a keyboard does.
func (p *tab) key(key, code string, vk int, text string) {
	p.t.Helper()
	down := map[string]any{"type": "keyDown", "key": key, "code": code, "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk}
	if text != "" {
		down["text"] = text
		down["unmodifiedText"] = text
	}
	p.c.must(p.t, p.session, "Input.dispatchKeyEvent", down)
	p.c.must(p.t, p.session, "Input.dispatchKeyEvent", map[string]any{"type": "keyUp", "key": key, "code": code, "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk})
}

// wedge types digits and Enter into the focused element, as a
// keyboard-wedge badge reader does.
func (p *tab) wedge(digits string) {
	p.t.Helper()
	for _, r := range digits {
		s := string(r)
		code, vk := "Key"+strings.ToUpper(s), int(strings.ToUpper(s)[0])
		if r >= '0' && r <= '9' {
			code = "Digit" + s
		}
		p.key(s, code, vk, s)
	}
	p.key("Enter", "Enter", 13, "\r")
}

// screenshot writes a PNG of the viewport to path.
func (p *tab) screenshot(path string) {
	p.t.Helper()
	var shot struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(p.c.must(p.t, p.session, "Page.captureScreenshot", map[string]any{"format": "png"}), &shot); err != nil {
		p.t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// scriptErrors returns the JavaScript exceptions the tab reported.
func (p *tab) scriptErrors() []string {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	return append([]string(nil), p.c.errs[p.session]...)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// shared is the one browser the tests share; each test opens its own
// browser contexts.
var shared struct {
	once sync.Once
	c    *chrome
	err  error
}

// browser returns the shared browser, starting it on first use, or skips
// the test when Chromium is not installed.
func browser(t *testing.T) *chrome {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("browser test skipped: Chromium not found (install Debian's chromium package, or set CHROMIUM to the browser's path)")
	}
	shared.once.Do(func() { shared.c, shared.err = startChrome(path) })
	if shared.err != nil {
		t.Fatalf("starting %s: %v", path, shared.err)
	}
	return shared.c
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.c != nil {
		shared.c.close()
	}
	os.Exit(code)
}
