package brivo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// Brivo documents what it answers when a request names something missing
// only for a GET of one record: 404 {"code":404,"message":…} (real traffic:
// "Requested user not found", "No credential could be retrieved for
// credential id: …"). What it answers to a DELETE, an unassignment or a
// sub-listing of something already gone is not documented, so the adapter
// never takes such an answer's code for "gone": it asks (settle).

// brivoNotFound reports whether a 404 is Brivo's own: no body, or a JSON
// body whose code is 404. A 404 page from something in front of the API
// (HTML, or JSON of another shape) says nothing about the record.
func brivoNotFound(resp *acshttp.Response) bool {
	if resp.Status != http.StatusNotFound {
		return false
	}
	b := bytes.TrimSpace(resp.Body)
	if len(b) == 0 {
		return true
	}
	var j struct {
		Code json.Number `json:"code"`
	}
	return b[0] == '{' && json.Unmarshal(b, &j) == nil && j.Code.String() == "404"
}

// uncertain reports whether err is an error answer from Brivo whose code
// does not tell what became of the request's target (anything but the
// gateway's and the token's refusals, see APIError.sure).
func uncertain(err error) bool {
	var ve *APIError
	return errors.As(err, &ve) && !ve.sure
}

// exists asks Brivo whether the record at path (a GET by ID) with the
// given ID exists. Only Brivo's own 404 means it does not.
func (p *Provider) exists(ctx context.Context, op, path string, id int64) (bool, error) {
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: path, idempotent: true})
	if err != nil {
		return false, err
	}
	if brivoNotFound(resp) {
		return false, nil
	}
	if !ok2xx(resp) {
		return false, p.statusError(op, resp)
	}
	var v struct {
		ID int64 `json:"id"`
	}
	if err := p.decode(op, resp, &v); err != nil {
		return false, err
	}
	if v.ID != id {
		return false, acs.Errorf(op, Name, acs.Unknown, "asked for record %d, Brivo answered with %d", id, v.ID)
	}
	return true, nil
}

func (p *Provider) userExists(ctx context.Context, op string, uid int64) (bool, error) {
	return p.exists(ctx, op, idPath("/users/", uid, ""), uid)
}

func (p *Provider) credentialExists(ctx context.Context, op string, cid int64) (bool, error) {
	return p.exists(ctx, op, idPath("/credentials/", cid, ""), cid)
}

// settle decides what an error answer to a request about a target means.
// When err is uncertain, Brivo is asked whether the target (what, for
// messages) still exists: gone reports that it does not, whatever err
// said. Otherwise err stands: as it was when it is not uncertain, never
// NotFound when the target is still there, and the question's own error
// when asking failed transiently.
func (p *Provider) settle(ctx context.Context, op, what string, err error, exists func() (bool, error)) (gone bool, _ error) {
	if err == nil || !uncertain(err) {
		return false, err
	}
	found, perr := exists()
	switch {
	case perr != nil && (acs.IsRetryable(perr) || acs.CodeOf(perr) == acs.Canceled):
		return false, perr
	case perr != nil:
		return false, notGone(err, "and asking whether the "+what+" still exists failed too")
	case found:
		return false, notGone(err, "yet the "+what+" still exists")
	}
	p.log.LogAttrs(ctx, slog.LevelDebug, "brivo: target gone; error answer taken as done",
		slog.String("provider", Name), slog.String("op", op), slog.String("target", what), slog.String("answer", p.redact(err.Error())))
	return true, nil
}

// notGone returns err as it stands, with a note, and classified Unknown
// rather than NotFound: the target is not known to be gone.
func notGone(err error, note string) error {
	var ae *acs.Error
	if !errors.As(err, &ae) {
		return err
	}
	c := *ae
	if c.Code == acs.NotFound {
		c.Code = acs.Unknown
	}
	if c.Message == "" {
		c.Message = note
	} else {
		c.Message += ", " + note
	}
	return &c
}
