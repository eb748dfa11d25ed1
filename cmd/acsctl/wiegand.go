package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/acsbridge/acsbridge/wiegand"
)

// wiegandFormats maps the command line's format names to card formats, for
// the wiegand and provision commands alike.
var wiegandFormats = map[string]wiegand.Format{
	"h10301": wiegand.H10301,
	"h10306": wiegand.H10306,
	"h10302": wiegand.H10302,
	"h10304": wiegand.H10304,
	"c1k35":  wiegand.Corp1000_35,
	"c1k48":  wiegand.Corp1000_48,
}

// wiegandArgs are the flags of wiegand encode and decode.
type wiegandArgs struct{ format, facility, card, hex, bits string }

// wiegandFlags defines the flags of wiegand encode or decode.
func wiegandFlags(sub string) (*flagSet, *wiegandArgs) {
	o := &wiegandArgs{}
	fs := newFlagSet("wiegand " + sub)
	fs.String(&o.format, "format", "", "card `FORMAT`: "+strings.Join(formatNames, ", ")+" (required)")
	switch sub {
	case "encode":
		fs.String(&o.facility, "facility-code", "", "facility code `N` (required unless the format has none: h10302)")
		fs.String(&o.card, "card-number", "", "card `NUMBER` (required)")
	case "decode":
		fs.String(&o.hex, "hex", "", "the frame as upper- or lower-case `HEX`, 0x allowed")
		fs.String(&o.bits, "bits", "", "the frame as a `BITS` string of 0 and 1, first transmitted bit first")
	}
	return fs, o
}

func (a *app) wiegand(args []string) error {
	if len(args) == 0 {
		return usagef("wiegand: want encode or decode")
	}
	sub := args[0]
	switch sub {
	case "encode", "decode":
		a.cmd = "wiegand " + sub
	case "-h", "--help", "-help":
		return errHelp
	default:
		return usagef("wiegand: unknown subcommand %q; want encode or decode", sub)
	}
	fs, o := wiegandFlags(sub)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("wiegand %s: unexpected argument %q", sub, fs.Arg(0))
	}
	name := strings.ToLower(o.format)
	f, ok := wiegandFormats[name]
	if !ok {
		return usagef("wiegand %s: --format %q unknown; want h10301, h10306, h10302, h10304, c1k35 or c1k48", sub, o.format)
	}
	if sub == "encode" {
		return a.wiegandEncode(f, name, o.facility, o.card)
	}
	return a.wiegandDecode(f, name, o.hex, o.bits)
}

func (a *app) wiegandEncode(f wiegand.Format, name, facility, card string) error {
	if card == "" {
		return usagef("wiegand encode: --card-number is required")
	}
	cn, err := strconv.ParseUint(card, 10, 64)
	if err != nil {
		return usagef("wiegand encode: --card-number %q is not a non-negative integer", card)
	}
	var fc uint64
	switch {
	case facility != "":
		if fc, err = strconv.ParseUint(facility, 10, 64); err != nil {
			return usagef("wiegand encode: --facility-code %q is not a non-negative integer", facility)
		}
	case f.HasFacility():
		return usagef("wiegand encode: --facility-code is required for %s", name)
	}
	fr, err := f.Encode(fc, cn)
	if err != nil {
		return err
	}
	hex := strings.ToUpper(strconv.FormatUint(fr.Value, 16))
	out := struct {
		Format string `json:"format"`
		Bits   string `json:"bits"`
		Hex    string `json:"hex"`
	}{name, fr.BitString(), hex}
	return a.emit(out, fmt.Sprintf("%s facility %d card %d\nbits %s\nhex  %s\n", name, fc, cn, out.Bits, out.Hex))
}

func (a *app) wiegandDecode(f wiegand.Format, name, hex, bits string) error {
	var (
		fr  wiegand.Frame
		err error
	)
	switch {
	case hex != "" && bits != "":
		return usagef("wiegand decode: give --hex or --bits, not both")
	case hex != "":
		fr, err = wiegand.ParseHex(strings.TrimPrefix(strings.TrimPrefix(hex, "0x"), "0X"), f.Bits())
	case bits != "":
		fr, err = wiegand.ParseBits(bits)
	default:
		return usagef("wiegand decode: --hex or --bits is required")
	}
	if err != nil {
		return err
	}
	c, err := f.Decode(fr)
	if err != nil {
		return err
	}
	out := struct {
		Format       string `json:"format"`
		FacilityCode uint64 `json:"facility_code"`
		CardNumber   uint64 `json:"card_number"`
	}{name, c.Facility, c.Number}
	return a.emit(out, fmt.Sprintf("%s facility %d card %d\n", name, c.Facility, c.Number))
}
