package genetec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
)

// Whether an entity is gone is never inferred from an error: public
// sources document one SdkErrorCode only (InvalidOperation, the reason in
// the message), so "Unable to find entity …" is indistinguishable by code
// from any other refusal. Where the answer matters (a deletion, the read
// before one, a lookup), the adapter asks the Web SDK with
// GET entity/exists/{id} and believes that answer alone.

// askable reports whether a failure may mean that an entity is missing,
// so that asking whether it exists can settle it. Refused credentials or
// privileges, throttling, outages, cancellation and an old serializer are
// answers in their own right: asking would not change them.
func askable(err error) bool {
	switch acs.CodeOf(err) {
	case acs.NotFound, acs.InvalidArgument, acs.Unknown, acs.Conflict, acs.AlreadyExists:
		return true
	}
	return false
}

// exists asks the Web SDK whether an entity exists: GET entity/exists/{id}.
// Public sources list the endpoint but not its answer, so every plausible
// shape is read (see existsAnswer); anything else is an error, never a
// guess.
func (p *Provider) exists(ctx context.Context, op string, id guid) (bool, error) {
	env, err := p.do(ctx, call{op: op, method: http.MethodGet, path: "/entity/exists/" + id.Hex()})
	if err != nil {
		return false, err
	}
	if !isOk(env.Status) {
		return false, acs.Errorf(op, Name, acs.Unknown, "asked whether entity %s exists, the Web SDK answered status %q", id, env.Status)
	}
	v, ok := existsAnswer(env.Result)
	if !ok {
		return false, acs.Errorf(op, Name, acs.Unknown, "asked whether entity %s exists, the Web SDK answered neither yes nor no (%d bytes)", id, len(env.Result))
	}
	return v, nil
}

// existsAnswer reads the Result of entity/exists: a JSON boolean, the
// strings "true" or "false" in any case, or an object holding one of
// those under Exists, Exist, Result or Value (any case). ok is false for
// anything else, null and an absent Result included.
func existsAnswer(raw json.RawMessage) (v, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		var o object
		if json.Unmarshal(raw, &o) != nil {
			return false, false
		}
		for _, k := range []string{"Exists", "Exist", "Result", "Value"} {
			if f := o.field(k); f != nil {
				return scalarBool(f)
			}
		}
		return false, false
	}
	return scalarBool(raw)
}

func scalarBool(raw json.RawMessage) (v, ok bool) {
	raw = bytes.TrimSpace(raw)
	switch {
	case bytes.Equal(raw, []byte("true")):
		return true, true
	case bytes.Equal(raw, []byte("false")):
		return false, true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// settle decides what a failed request about entity id means by asking
// whether id still exists. Absent: nil, the entity is gone, which is what
// a deletion wanted. Present: the failure as it was classified, except
// that a failure claiming the entity missing contradicts the Web SDK's
// own answer and is returned as retryable (a stale session cache is the
// likely cause). No usable answer: an error saying that nothing could be
// decided, never a success.
func (p *Provider) settle(ctx context.Context, op string, id guid, failure error) error {
	if !askable(failure) {
		return failure
	}
	found, err := p.exists(ctx, op, id)
	switch {
	case err != nil:
		return undecided(op, id, failure, err)
	case !found:
		p.log.DebugContext(ctx, "entity is gone, as the Web SDK confirms", "provider", Name, "op", op, "entity", id.String())
		return nil
	case acs.CodeOf(failure) == acs.NotFound:
		return contradiction(op, id, failure)
	}
	return failure
}

// cause returns what an *acs.Error wraps (the *SdkError, typically), so
// that a new classification wraps the vendor error exactly once.
func cause(err error) error {
	var ae *acs.Error
	if errors.As(err, &ae) && ae.Err != nil {
		return ae.Err
	}
	return err
}

// undecided is the error for a failure whose meaning could not be
// settled because asking whether the entity exists failed too. It is
// retryable when asking failed for a transient reason.
func undecided(op string, id guid, failure, askErr error) error {
	code := acs.Unknown
	if acs.IsRetryable(askErr) {
		code = acs.CodeOf(askErr)
	}
	return &acs.Error{Op: op, Provider: Name, Code: code, Err: cause(failure),
		Message: "could not tell whether entity " + id.String() + " still exists (asking answered " + brief(askErr) + ")"}
}

// brief describes an error without its operation and provider prefix.
func brief(err error) string {
	var ae *acs.Error
	if !errors.As(err, &ae) {
		return err.Error()
	}
	s := ae.Code.String()
	if ae.Message != "" {
		s += ": " + ae.Message
	}
	if ae.Err != nil {
		s += ": " + ae.Err.Error()
	}
	return s
}

// contradiction is the error for a failure claiming an entity missing
// while the Web SDK says it exists.
func contradiction(op string, id guid, failure error) error {
	return &acs.Error{Op: op, Provider: Name, Code: acs.Unavailable, Err: cause(failure),
		Message: "the Web SDK answered that entity " + id.String() + " is missing, yet says it exists; try again"}
}

// readPresent is read for entities that may have been deleted since they
// were found. Entities the Web SDK confirms absent are returned in gone and
// left out of the map; every other requested entity is in the map, or the
// call fails. A refused read is settled by asking which entities exist
// (those the failure names, else every one of the batch) when the
// failure may concern a missing entity; one refusal about entities that
// all exist is read again once (a stale session cache), a second is
// returned.
func (p *Provider) readPresent(ctx context.Context, op string, segs []readSeg) (map[guid]object, []guid, error) {
	out := make(map[guid]object, len(segs))
	var gone []guid
	for start := 0; start < len(segs); {
		batch := segs[start:min(start+p.batchSize(), len(segs))]
		start += len(batch)
		objs, g, err := p.readBatchPresent(ctx, op, batch)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range objs {
			out[k] = v
		}
		gone = append(gone, g...)
	}
	return out, gone, nil
}

// readBatchPresent is readPresent for one batch of segments.
func (p *Provider) readBatchPresent(ctx context.Context, op string, segs []readSeg) (map[guid]object, []guid, error) {
	var gone []guid
	reread := false
	for {
		if len(segs) == 0 {
			return map[guid]object{}, gone, nil
		}
		objs, err := p.read(ctx, op, segs)
		suspects := missingFrom(segs, objs, err)
		if err != nil && (!askable(err) || len(suspects) == 0) {
			return nil, nil, err
		}
		if err == nil && len(suspects) == 0 {
			return objs, gone, nil
		}
		absent, aerr := p.absent(ctx, op, suspects, err)
		if aerr != nil {
			return nil, nil, aerr
		}
		gone = append(gone, absent...)
		segs = slices.DeleteFunc(slices.Clone(segs), func(s readSeg) bool { return slices.Contains(absent, s.id) })
		switch {
		case len(absent) > 0:
			continue // read what is left
		case err == nil:
			return nil, nil, acs.Errorf(op, Name, acs.Unknown, "the Web SDK did not return entity %s, although it says the entity exists", suspects[0])
		case !reread:
			reread = true
			continue
		case acs.CodeOf(err) == acs.NotFound:
			return nil, nil, contradiction(op, suspects[0], err)
		}
		return nil, nil, err
	}
}

// missingFrom returns the entities whose absence could explain a read's
// outcome. After a success: those the answer left out. After a failure:
// those the failure names; if it names none, every entity of the batch
// when the failure may concern a missing entity (NotFound or
// unclassified, or a batch of one), else none.
func missingFrom(segs []readSeg, objs map[guid]object, err error) []guid {
	var out []guid
	if err == nil {
		for _, s := range segs {
			if _, ok := objs[s.id]; !ok && !slices.Contains(out, s.id) {
				out = append(out, s.id)
			}
		}
		return out
	}
	for _, s := range segs {
		if mentions(err, s.id) && !slices.Contains(out, s.id) {
			out = append(out, s.id)
		}
	}
	if len(out) > 0 {
		return out
	}
	switch c := acs.CodeOf(err); {
	case c == acs.NotFound || c == acs.Unknown || len(segs) == 1:
		for _, s := range segs {
			if !slices.Contains(out, s.id) {
				out = append(out, s.id)
			}
		}
	}
	return out
}

// absent asks, for each suspect, whether it exists, and returns those
// that do not. A failure to ask ends it with an error that says so.
func (p *Provider) absent(ctx context.Context, op string, suspects []guid, failure error) ([]guid, error) {
	var out []guid
	for _, id := range suspects {
		found, err := p.exists(ctx, op, id)
		if err != nil {
			if failure == nil {
				return nil, err
			}
			return nil, undecided(op, id, failure, err)
		}
		if !found {
			out = append(out, id)
		}
	}
	return out, nil
}
