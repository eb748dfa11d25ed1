package acshttp

import (
	"context"
	"log/slog"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
)

type pinsKey struct{}

// WithPINs returns a context carrying PINs that a logger wrapped with
// RedactPINs removes from every record logged with that context: an
// adapter's ProvisionPIN passes its context through it, so that no log
// line of the call (an error the ACS answered, quoting its request) shows
// the PIN.
func WithPINs(ctx context.Context, pins ...acs.PIN) context.Context {
	var keep []string
	for _, p := range pins {
		if d := p.Reveal(); d != "" {
			keep = append(keep, d)
		}
	}
	if len(keep) == 0 {
		return ctx
	}
	if prev, ok := ctx.Value(pinsKey{}).([]string); ok {
		keep = append(keep, prev...)
	}
	return context.WithValue(ctx, pinsKey{}, keep)
}

// RedactPINs wraps a log handler: records logged with a context from
// WithPINs have the PINs' digits replaced in their message and in every
// attribute (strings, errors and other values are compared by their
// text), groups included. Other records pass unchanged.
func RedactPINs(h slog.Handler) slog.Handler { return pinHandler{h} }

type pinHandler struct{ next slog.Handler }

func (h pinHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h pinHandler) WithAttrs(as []slog.Attr) slog.Handler { return pinHandler{h.next.WithAttrs(as)} }

func (h pinHandler) WithGroup(name string) slog.Handler { return pinHandler{h.next.WithGroup(name)} }

func (h pinHandler) Handle(ctx context.Context, r slog.Record) error {
	pins, _ := ctx.Value(pinsKey{}).([]string)
	if len(pins) == 0 {
		return h.next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, redactText(r.Message, pins), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a, pins))
		return true
	})
	return h.next.Handle(ctx, out)
}

const pinRedacted = "[PIN redacted]"

func redactText(s string, pins []string) string {
	for _, p := range pins {
		s = strings.ReplaceAll(s, p, pinRedacted)
	}
	return s
}

func redactAttr(a slog.Attr, pins []string) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		as := v.Group()
		out := make([]slog.Attr, len(as))
		for i, x := range as {
			out[i] = redactAttr(x, pins)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindString:
		return slog.String(a.Key, redactText(v.String(), pins))
	}
	if s := v.String(); redactText(s, pins) != s {
		return slog.String(a.Key, redactText(s, pins))
	}
	return slog.Attr{Key: a.Key, Value: v}
}
