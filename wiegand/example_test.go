package wiegand_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/acsbridge/acsbridge/wiegand"
)

func ExampleFormat_Encode() {
	fr, err := wiegand.H10301.Encode(1, 200)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(fr.Hex())
	fmt.Println(fr.BitString())

	_, err = wiegand.H10301.Encode(256, 200)
	fmt.Println(err)
	// Output:
	// 2020190
	// 10000000100000000110010000
	// wiegand: H10301 facility code 256 out of range 0-255
}

func ExampleFormat_Decode() {
	fr, err := wiegand.ParseHex("2020190", wiegand.H10301.Bits())
	if err != nil {
		fmt.Println(err)
		return
	}
	card, err := wiegand.H10301.Decode(fr)
	fmt.Println(card, err)

	// One bit off: the odd parity bit b26 no longer matches.
	fr.Value ^= 1
	_, err = wiegand.H10301.Decode(fr)
	var pe *wiegand.ParityError
	if errors.As(err, &pe) {
		fmt.Println(pe.Kind, pe.Bit)
	}
	fmt.Println(err)
	// Output:
	// H10301 1/200 <nil>
	// odd 26
	// wiegand: H10301 frame 2020191 (26 bits) fails odd parity (bit b26)
}

func ExampleFrame_OSDP() {
	fr, _ := wiegand.H10301.Encode(1, 200)
	b := fr.OSDP()
	fmt.Printf("% X\n", b)

	back, err := wiegand.FromOSDP(b, 26)
	fmt.Println(back, err)
	// Output:
	// 80 80 64 00
	// 2020190 (26 bits) <nil>
}

func ExampleMatches() {
	// Every valid 37-bit frame is both an H10302 and an H10304 frame.
	fr, _ := wiegand.H10304.Encode(1234, 56789)
	for _, f := range wiegand.Matches(fr) {
		card, _ := f.Decode(fr)
		fmt.Println(card)
	}
	// Output:
	// H10302 0/647028181
	// H10304 1234/56789
}

func ExampleConcatenated() {
	n, _ := wiegand.Combined24(1, 11572)
	s, _ := wiegand.Concatenated(21, 15890, 5)
	fmt.Println(n, s)
	// Output:
	// 77108 2115890
}

func ExampleParseFormat() {
	f, err := wiegand.ParseFormat("c1000-35") // any letter case
	fmt.Println(f, f.Bits(), err)

	_, err = wiegand.ParseFormat("W26")
	fmt.Println(errors.Is(err, wiegand.ErrFormat))
	fmt.Println(err)
	// Output:
	// C1000-35 35 <nil>
	// true
	// wiegand: unknown card format "W26" (want H10301, H10306, H10302, H10304, C1000-35 or C1000-48)
}

func ExampleFormat_MarshalText() {
	// A Format is its name in JSON, and so is a Card's.
	b, _ := json.Marshal(wiegand.Card{Format: wiegand.H10301, Facility: 1, Number: 200})
	fmt.Println(string(b))

	var c wiegand.Card
	err := json.Unmarshal([]byte(`{"format":"C1000-48","facility":7,"number":42}`), &c)
	fmt.Println(c, err)

	err = json.Unmarshal([]byte(`{"format":"H99999"}`), &c)
	fmt.Println(errors.Is(err, wiegand.ErrFormat))
	// Output:
	// {"format":"H10301","facility":1,"number":200}
	// C1000-48 7/42 <nil>
	// true
}
