package visitor

import (
	"context"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge/qrcode"
)

// QRCode renders the QR code of the card number the visit holds from its
// location's range (ProvisionRequest.FromRange), with the location's QR
// options (Location.QR): the payload string, a PNG and an SVG for the VMS
// to e-mail or print. The code can be sent as soon as the number is
// issued: a provision the ACS has not confirmed yet (CredPending) opens
// doors once it does. A visit that holds no such number (none issued, a
// pool badge, or one already revoked or returned) is a Conflict; an
// unknown visit NotFound.
func (e *Engine) QRCode(ctx context.Context, visitID string) (qrcode.Code, error) {
	const op = "qr_code"
	v, err := e.Visit(ctx, visitID)
	if err != nil {
		return qrcode.Code{}, err
	}
	l := e.locs[v.Location]
	if l == nil {
		return qrcode.Code{}, refusal(op, acs.Unsupported, "location %q of visit %s is not configured on this engine", v.Location, v.ID)
	}
	c := v.Current()
	if c == nil || c.Source != FromRange || !c.Status.Live() {
		return qrcode.Code{}, refusal(op, acs.Conflict, "visit %s holds no live card number from the range of location %s", v.ID, v.Location)
	}
	if !c.Card.Format.Known() {
		return qrcode.Code{}, refusal(op, acs.InvalidArgument, "card %s of visit %s has no Wiegand format a QR code can carry", c.Card, v.ID)
	}
	code, err := qrcode.Encode(c.Card, l.QR)
	if err != nil {
		return qrcode.Code{}, acs.Wrap(op, "", acs.InvalidArgument, err)
	}
	return code, nil
}
