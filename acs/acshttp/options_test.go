package acshttp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestClientOptionsRefuseNamingTheOption(t *testing.T) {
	for _, c := range []struct {
		set  func(*ClientOptions)
		want string
	}{
		{func(o *ClientOptions) { o.SetHTTPClient(nil) }, "WithHTTPClient: nil client"},
		{func(o *ClientOptions) { o.SetTimeout(0) }, "WithTimeout: 0s is not positive"},
		{func(o *ClientOptions) { o.SetRateLimit(-1, 1) }, "WithRateLimit: negative rate"},
		{func(o *ClientOptions) { o.SetRateLimit(1, -1) }, "WithRateLimit: negative rate or burst"},
		{func(o *ClientOptions) { o.SetRetry(1, time.Second, time.Millisecond) }, "WithRetry: need"},
		{func(o *ClientOptions) { o.SetRetry(1, -time.Second, 0) }, "WithRetry: need"},
		{func(o *ClientOptions) { o.SetHTTPClient(&http.Client{}); o.SetTLS(TLSOptions{}) }, "WithHTTPClient excludes WithTLS and WithTimeout"},
		{func(o *ClientOptions) { o.SetTimeout(time.Second); o.SetHTTPClient(&http.Client{}) }, "WithHTTPClient excludes WithTLS and WithTimeout"},
	} {
		o := NewClientOptions(time.Second, 0, 0)
		c.set(&o)
		if err := o.Err(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Err() = %v, want it to say %q", err, c.want)
		}
	}
	o := NewClientOptions(time.Second, 0, 0)
	o.SetTLS(TLSOptions{CAFile: "/nonexistent/ca.pem"})
	if _, err := o.HTTPClient(); err == nil || !strings.HasPrefix(err.Error(), "WithTLS: reading CA file") {
		t.Errorf("missing CA file: %v", err)
	}
}

func TestClientOptionsConfig(t *testing.T) {
	base, _ := url.Parse("https://acs.example.com/api")
	hc := &http.Client{}

	o := NewClientOptions(time.Second, 20, 10)
	cfg := o.Config("x", base, hc, "secret")
	if cfg.RetryMax != DefaultRetryMax || cfg.RetryWaitMin != DefaultRetryWaitMin || cfg.RetryWaitMax != DefaultRetryWaitMax {
		t.Errorf("default retry policy %d %v %v", cfg.RetryMax, cfg.RetryWaitMin, cfg.RetryWaitMax)
	}
	if cfg.Limiter == nil || cfg.Limiter.Limit() != 20 || cfg.Limiter.Burst() != 10 {
		t.Errorf("default limiter %v", cfg.Limiter)
	}
	if cfg.Provider != "x" || cfg.BaseURL != base || cfg.HTTPClient != hc || len(cfg.Secrets) != 1 {
		t.Errorf("config %+v", cfg)
	}

	o.SetRetry(0, 0, 0)
	o.SetRateLimit(0, 0)
	cfg = o.Config("x", base, hc)
	if cfg.RetryMax >= 0 {
		t.Errorf("WithRetry(0, …) gives Config.RetryMax %d, want negative (never)", cfg.RetryMax)
	}
	if cfg.Limiter != nil {
		t.Error("a rate of 0 left a limiter")
	}
	if err := o.Err(); err != nil {
		t.Fatal(err)
	}
	if n, lo, hi := o.Retry(); n != 0 || lo != DefaultRetryWaitMin || hi != DefaultRetryWaitMax {
		t.Errorf("Retry() = %d %v %v", n, lo, hi)
	}
	o.SetRetry(-5, 20*time.Second, 0)
	if n, lo, hi := o.Retry(); n != 0 || lo != 20*time.Second || hi != 20*time.Second {
		t.Errorf("Retry() = %d %v %v, want 0 20s 20s", n, lo, hi)
	}
}

func TestClientOptionsBaseURLAndClient(t *testing.T) {
	o := NewClientOptions(3*time.Second, 0, 0)
	if _, err := o.BaseURL("http://acs.example.com/api"); err == nil {
		t.Error("plain http to a remote host accepted")
	}
	o.AllowInsecureHTTP()
	if _, err := o.BaseURL("http://acs.example.com/api"); err != nil || !o.InsecureHTTP() {
		t.Errorf("after AllowInsecureHTTP: %v", err)
	}
	hc, err := o.HTTPClient()
	if err != nil || hc.Timeout != 3*time.Second {
		t.Errorf("built client: %v, timeout %v", err, hc.Timeout)
	}
	given := &http.Client{}
	o.SetHTTPClient(given)
	if got, _ := o.HTTPClient(); got != given {
		t.Error("the given client is not used")
	}
	if o.Logger() == nil {
		t.Error("nil logger")
	}
}
